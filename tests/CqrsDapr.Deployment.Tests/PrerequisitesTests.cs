using System.Diagnostics;
using System.Text.RegularExpressions;
using CqrsDapr.TestSupport;

namespace CqrsDapr.Deployment.Tests;

/// <summary>
/// The newcomer's path: README.md's one prerequisite line is the one <c>.ci/run</c> installs, it installs every package
/// the tests' prerequisite check (<c>tests/build/prerequisites.sh</c>, run by <c>dotnet test</c> before it builds) can
/// ask for, and after it CI types only <c>dotnet test</c>, as the README says.
/// </summary>
public sealed partial class PrerequisitesTests
{
    private static readonly string CiRun = Path.Combine(RepositoryPaths.Root, ".ci", "run");
    private static readonly string Check = Path.Combine(RepositoryPaths.Root, "tests", "build", "prerequisites.sh");

    /// <summary>The line as <c>.ci/run</c> holds it: <c>prerequisites='…'</c>.</summary>
    private static string Line => CiRunLine().Match(File.ReadAllText(CiRun)) is { Success: true } match
        ? match.Groups["line"].Value
        : throw new InvalidOperationException(".ci/run has no prerequisites='...' line.");

    private static string[] LinePackages => Line.Split("--no-upgrade ")[1].Split(' ');

    [Fact]
    public void The_README_shows_the_prerequisite_line_of_ci_run_character_for_character()
    {
        Assert.StartsWith("sudo apt-get update && sudo apt-get install -y --no-upgrade ", Line, StringComparison.Ordinal);
        var readme = File.ReadAllLines(Path.Combine(RepositoryPaths.Root, "README.md"));
        Assert.True(readme.Any(line => line.Trim() == Line), $"README.md has no line that is exactly:\n{Line}");
    }

    [Fact]
    public void The_line_installs_exactly_the_packages_the_prerequisite_check_can_name()
    {
        var named = CheckPackage().Matches(File.ReadAllText(Check)).Select(match => match.Groups["package"].Value).Distinct();

        Assert.Equal(named.Order(StringComparer.Ordinal), LinePackages.Order(StringComparer.Ordinal));
        Assert.Equal(LinePackages.Length, LinePackages.Distinct().Count());
    }

    [Fact]
    public void After_the_prerequisites_ci_runs_dotnet_test_and_nothing_else()
    {
        var commands = File.ReadAllLines(CiRun).Select(line => line.Trim()).Where(line => line.Length > 0 && !line.StartsWith('#')).ToList();

        Assert.Equal("dotnet test", commands[^1]);
        Assert.DoesNotContain(commands, command => NpmCommand().IsMatch(command) || command.StartsWith("systemctl", StringComparison.Ordinal));
        Assert.Single(commands, command => command.StartsWith("dotnet ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_check_names_what_is_missing_and_its_packages_in_one_line_and_fails()
    {
        // A PATH of one empty folder: no go, node, npm or curl (servers: the tests may be told to use existing ones).
        var empty = Directory.CreateTempSubdirectory("cqrsdapr-prerequisites-").FullName;
        try
        {
            await AssertNamesEveryMissingProgramAsync(empty);
        }
        finally
        {
            Directory.Delete(empty);
        }
    }

    private static async Task AssertNamesEveryMissingProgramAsync(string empty)
    {
        var (code, output) = await RunCheckAsync(empty, "CQRSDAPR_TEST_POSTGRES", "CQRSDAPR_TEST_REDIS");

        Assert.Equal(1, code);
        var message = output.TrimEnd('\n');
        Assert.DoesNotContain('\n', message);
        Assert.StartsWith("Missing test prerequisites: ", message, StringComparison.Ordinal);
        Assert.Contains("go, ", message, StringComparison.Ordinal);
        Assert.Contains("node, npm, curl.", message, StringComparison.Ordinal);
        Assert.Matches(@"Install them with: sudo apt-get update && sudo apt-get install -y --no-upgrade (\S+ )*golang-go (\S+ )*nodejs npm curl \(", message);
        Assert.DoesNotContain("postgresql", message, StringComparison.Ordinal);
        Assert.DoesNotContain("redis-server", message, StringComparison.Ordinal);
        Assert.Contains("-p:CheckTestPrerequisites=false", message, StringComparison.Ordinal);

        var (_, packages) = await RunCheckAsync(empty, "CQRSDAPR_TEST_POSTGRES", "CQRSDAPR_TEST_REDIS", "--packages");
        Assert.Matches(@"^(\S+ )*golang-go (\S+ )*nodejs npm curl\n$", packages);
    }

    /// <summary>Runs prerequisites.sh with PATH = <paramref name="path"/>; arguments named CQRSDAPR_* are set as variables instead.</summary>
    private static async Task<(int ExitCode, string Output)> RunCheckAsync(string path, params string[] arguments)
    {
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Check);
        foreach (var argument in arguments)
        {
            if (argument.StartsWith("CQRSDAPR_", StringComparison.Ordinal))
            {
                start.Environment[argument] = "set by the test";
            }
            else
            {
                start.ArgumentList.Add(argument);
            }
        }

        start.Environment["PATH"] = path;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var error = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.Equal("", await error);
        return (process.ExitCode, await output);
    }

    [GeneratedRegex(@"^prerequisites='(?<line>[^']+)'$", RegexOptions.Multiline)]
    private static partial Regex CiRunLine();

    /// <summary>npm run as a command (not the package of that name in the apt line): the build runs npm ci.</summary>
    [GeneratedRegex(@"(^|[;&|(]\s*)npm\s")]
    private static partial Regex NpmCommand();

    /// <summary><c>need "WHAT" package</c> or <c>need what package</c> in prerequisites.sh.</summary>
    [GeneratedRegex(@"\bneed (""[^""]*""|\S+) (?<package>[a-z0-9][a-z0-9.+-]*)$", RegexOptions.Multiline)]
    private static partial Regex CheckPackage();
}
