using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;

namespace CqrsDapr.EndToEnd.Tests;

/// <summary>
/// What operators do to the running system: the query service's resource commands (what the dashboard's menu and
/// <see cref="ResourceCommandService"/> run) rebuild the views and report the rebuild and the dead letters through the
/// real sidecar with the run's token; and from a shell, <c>docs/tools/ops.sh</c> does the same with the operator file
/// the AppHost writes in its data directory.
/// </summary>
[Collection(WholeSystem.Name)]
public sealed class OperatorCommandTests(SystemFixture system)
{
    private static readonly TimeSpan RebuildTimeout = TimeSpan.FromSeconds(90);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The fixture's application (it exposes no command runner of its own).</summary>
    private DistributedApplication App =>
        (DistributedApplication)typeof(SystemFixture).GetProperty("App", BindingFlags.Instance | BindingFlags.NonPublic)!.GetValue(system)!;

    private Task<ExecuteCommandResult> RunAsync(string command) =>
        App.ResourceCommands.ExecuteCommandAsync("query-service", command, Ct);

    [Fact]
    public async Task Rebuild_views_starts_a_rebuild_that_rebuild_status_reports_completed()
    {
        var before = await RunAsync("rebuild-status");
        Assert.True(before.Success, before.Message);
        Assert.StartsWith("Serving generation ", before.Message, StringComparison.Ordinal);

        var started = await RunAsync("rebuild-views");

        Assert.True(started.Success, started.Message);
        Assert.StartsWith("Rebuild started: generation ", started.Message, StringComparison.Ordinal);
        var building = JsonDocument.Parse(started.Data!.Value).RootElement.GetProperty("building").GetInt32();
        var clock = Stopwatch.StartNew();
        ExecuteCommandResult status;
        do
        {
            await Task.Delay(250, Ct);
            status = await RunAsync("rebuild-status");
            Assert.True(status.Success, status.Message);
        }
        while (!status.Message!.Contains($"last rebuild: generation {building} completed", StringComparison.Ordinal) && clock.Elapsed < RebuildTimeout);

        Assert.StartsWith($"Serving generation {building}; last rebuild: generation {building} completed", status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dead_letters_answers_with_the_list_and_a_count()
    {
        var result = await RunAsync("dead-letters");

        Assert.True(result.Success, result.Message);
        var letters = JsonDocument.Parse(result.Data!.Value).RootElement;
        Assert.Equal(JsonValueKind.Array, letters.ValueKind);
        var count = letters.GetArrayLength();
        Assert.StartsWith(count == 0 ? "No dead letters." : $"{count} dead letter", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_operator_file_names_the_query_sidecar_and_the_runs_token_for_ops_sh()
    {
        var file = Path.Combine(system.DataDirectory, "operator.env");
        var lines = await File.ReadAllLinesAsync(file, Ct);

        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }

        Assert.Contains($"DAPR_API_TOKEN={system.ApiToken}", lines);
        using var sidecar = system.Client("query-service-dapr");
        Assert.Contains($"CQRSDAPR_QUERY_SIDECAR={sidecar.BaseAddress!.GetLeftPart(UriPartial.Authority)}", lines);

        var (status, statusOutput) = await OpsAsync("status");
        Assert.True(status == 0, statusOutput);
        Assert.Equal(JsonValueKind.Number, JsonDocument.Parse(statusOutput).RootElement.GetProperty("active").ValueKind);

        var (deadLetters, deadLettersOutput) = await OpsAsync("dead-letters", "5");
        Assert.True(deadLetters == 0, deadLettersOutput);
        Assert.Equal(JsonValueKind.Array, JsonDocument.Parse(deadLettersOutput).RootElement.ValueKind);
    }

    /// <summary>Runs <c>docs/tools/ops.sh</c> against this system's data directory: its exit code and output.</summary>
    private async Task<(int ExitCode, string Output)> OpsAsync(params string[] arguments)
    {
        var startInfo = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["CQRSDAPR_DATA_DIRECTORY"] = system.DataDirectory },
        };
        startInfo.ArgumentList.Add(Path.Combine(RepositoryRoot(), "docs", "tools", "ops.sh"));
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo)!;
        var output = process.StandardOutput.ReadToEndAsync(Ct);
        var errors = process.StandardError.ReadToEndAsync(Ct);
        await process.WaitForExitAsync(Ct);
        return (process.ExitCode, await output + await errors);
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "docs", "tools", "ops.sh")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("docs/tools/ops.sh is not above " + AppContext.BaseDirectory);
    }
}
