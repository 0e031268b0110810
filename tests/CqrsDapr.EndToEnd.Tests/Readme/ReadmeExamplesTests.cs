using System.Diagnostics;
using System.Globalization;

namespace CqrsDapr.EndToEnd.Tests.Readme;

/// <summary>
/// The README's quick start and API examples, run in order as a reader pastes them into bash, against the running
/// system (its gateway in place of localhost:8080). Each call must answer what the README says it answers, so the
/// examples cannot drift from the system again.
/// </summary>
[Collection(WholeSystem.Name)]
public sealed class ReadmeExamplesTests(SystemFixture system)
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task The_readme_examples_answer_what_the_readme_says()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var examples = ReadmeExamples.Parse(await File.ReadAllTextAsync(ReadmePath(), cancellationToken));
        Assert.True(examples.Answers.Count >= 10, $"Only {examples.Answers.Count} walked calls found in the README.");

        using var log = new ScratchDirectory();
        var gateway = system.Gateway.BaseAddress!;
        var script = $$"""
            set -euo pipefail
            curl() {
              local n; n=$(( $(cat '{{log.Path}}/n') + 1 )); echo "$n" > '{{log.Path}}/n'
              command curl -sS --max-time 20 -D '{{log.Path}}/'"$n"'.headers' "$@" | tee '{{log.Path}}/'"$n"'.body'
            }
            echo 0 > '{{log.Path}}/n'
            {{examples.Script.Replace("localhost:8080", $"{gateway.Host}:{gateway.Port}", StringComparison.Ordinal)}}
            """;
        var scriptPath = Path.Combine(log.Path, "readme.sh");
        await File.WriteAllTextAsync(scriptPath, script, cancellationToken);

        var (exitCode, output) = await RunBashAsync(scriptPath, cancellationToken);
        var calls = int.Parse((await File.ReadAllTextAsync(Path.Combine(log.Path, "n"), cancellationToken)).Trim(), CultureInfo.InvariantCulture);
        Assert.True(exitCode == 0, $"The README's examples stopped (exit {exitCode}) after {calls} calls:\n{output}");
        Assert.Equal(examples.Answers.Count, calls);

        for (var i = 0; i < calls; i++)
        {
            var expected = examples.Answers[i];
            var headers = await File.ReadAllLinesAsync(Path.Combine(log.Path, $"{i + 1}.headers"), cancellationToken);
            var body = await File.ReadAllTextAsync(Path.Combine(log.Path, $"{i + 1}.body"), cancellationToken);
            var context = $"README call {i + 1}: {expected.Command}\n{string.Join('\n', headers)}\n{body}";
            var statusLine = headers.Last(line => line.StartsWith("HTTP/", StringComparison.Ordinal)); // the final answer, after any 1xx
            Assert.True(int.Parse(statusLine.Split(' ')[1], CultureInfo.InvariantCulture) == expected.Status,
                $"expected {expected.Status}. {context}");
            foreach (var member in expected.JsonMembers)
            {
                Assert.True(body.Contains(member, StringComparison.Ordinal), $"expected {member} in the body. {context}");
            }

            foreach (var (name, value) in expected.Headers)
            {
                Assert.True(headers.Any(line => line.StartsWith($"{name}: ", StringComparison.OrdinalIgnoreCase) && line[(name.Length + 2)..].Trim() == value),
                    $"expected header {name}: {value}. {context}");
            }
        }
    }

    private static async Task<(int ExitCode, string Output)> RunBashAsync(string scriptPath, CancellationToken cancellationToken)
    {
        using var bash = Process.Start(new ProcessStartInfo("bash", [scriptPath])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var stdout = bash.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = bash.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ScriptTimeout);
        try
        {
            await bash.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            bash.Kill(entireProcessTree: true);
            throw;
        }

        return (bash.ExitCode, await stdout + await stderr);
    }

    private static string ReadmePath()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "CqrsDapr.sln")))
            {
                return Path.Combine(directory.FullName, "README.md");
            }
        }

        throw new InvalidOperationException("The repository root (CqrsDapr.sln) is not above " + AppContext.BaseDirectory);
    }

    private sealed class ScratchDirectory : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("cqrsdapr-readme-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
