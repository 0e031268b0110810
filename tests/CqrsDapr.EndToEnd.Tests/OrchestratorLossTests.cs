using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace CqrsDapr.EndToEnd.Tests;

/// <summary>
/// The AppHost run as a program (as <c>dotnet run</c> starts it) on a system of its own, started with a low soft
/// limit of open files. It raises the limit to the hard one for DCP and every resource and says so; DCP proxies no
/// endpoint of the system (only the dashboard's browser page); a resource killed is an error line naming it; and DCP
/// killed, the AppHost says so and exits with code 3 instead of running on with nothing behind it.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class OrchestratorLossTests
{
    private const int OrchestratorLostExitCode = 3;
    private const int LowOpenFilesLimit = 1024;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(4);
    private static readonly TimeSpan ReportTimeout = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromMinutes(3);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Killed_resources_are_errors_naming_them_and_a_killed_orchestrator_ends_the_apphost_with_exit_code_3()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "DCP's processes are found through /proc");
        var hard = LinuxProcesses.OpenFilesLimit(Environment.ProcessId).Hard;
        Assert.SkipWhen(hard <= LowOpenFilesLimit, $"the hard limit of open files ({hard}) leaves nothing to raise");
        await using var apphost = AppHostProcess.Start(openFiles: LowOpenFilesLimit);
        Assert.True(await apphost.WaitUntilHealthyAsync(StartTimeout, Ct), "The system did not come up: " + apphost.Output);
        var (apiServer, controllers) = apphost.Orchestrator();

        // The limit: raised to the hard one and logged once; DCP and the resources inherit it.
        var limit = Assert.Single(apphost.Lines, line => line.Contains("Open files limit (RLIMIT_NOFILE)", StringComparison.Ordinal));
        Assert.Equal(hard.ToString(CultureInfo.InvariantCulture), LimitLine().Match(limit).Groups["soft"].Value);
        Assert.Equal((hard, hard), LinuxProcesses.OpenFilesLimit(apphost.Pid));
        var redis = apphost.Resource(args => Path.GetFileName(args[0]).StartsWith("redis-server", StringComparison.Ordinal)); // it rewrites its command line
        foreach (var pid in (int[])[controllers, redis])
        {
            Assert.Equal((hard, hard), LinuxProcesses.OpenFilesLimit(pid));
        }

        // No proxy on the system's endpoints: DCP's controller process listens on the dashboard's browser port only.
        var dashboard = DashboardPort().Match(apphost.Output);
        Assert.True(dashboard.Success, "no dashboard address in the output: " + apphost.Output);
        Assert.Equal([int.Parse(dashboard.Groups["port"].Value, CultureInfo.InvariantCulture)], LinuxProcesses.ListeningPorts(controllers).Order());

        // Resources killed: an error line each, naming it; the AppHost runs on.
        Kill(redis);
        Assert.True(await apphost.WaitForLineAsync("Resource redis exited unexpectedly", ReportTimeout, Ct), apphost.Output);
        Kill(apphost.Resource(args => args.SkipWhile(arg => arg != "--app-id").Skip(1).FirstOrDefault() == "command-service"));
        Assert.True(await apphost.WaitForLineAsync("Resource command-service-dapr exited unexpectedly", ReportTimeout, Ct), apphost.Output);
        Assert.False(apphost.HasExited, apphost.Output);

        // DCP killed: every resource with it. The AppHost says so and exits non-zero.
        Kill(apiServer, tree: false); // its controller process and the resources go with it

        Assert.True(await apphost.WaitForExitAsync(ExitTimeout, Ct), "The AppHost runs on without DCP: " + apphost.Output);
        Assert.Equal(OrchestratorLostExitCode, apphost.ExitCode);
        Assert.Contains(apphost.Lines, line => line.Contains("The orchestrator (DCP: dcp", StringComparison.Ordinal)
            || line.Contains("Every resource has stopped and nobody asked for it", StringComparison.Ordinal));
    }

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    private static void Kill(int pid, bool tree = true)
    {
        using var process = Process.GetProcessById(pid);
        process.Kill(entireProcessTree: tree);
    }

    [GeneratedRegex(@"RLIMIT_NOFILE\) (is|raised from \d+ to) (?<soft>\d+) ")]
    private static partial Regex LimitLine();

    [GeneratedRegex(@"Now listening on: https?://[^:/\s]+:(?<port>\d+)")]
    private static partial Regex DashboardPort();
}
