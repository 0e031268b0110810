using System.Diagnostics;

namespace CqrsDapr.AppHost.Tests;

/// <summary>
/// DCP's processes found above a resource's process (<see cref="OrchestratorProcesses"/>, Linux): here a stand-in named
/// <c>dcp</c> (a shell script, which the kernel names after its file) runs a <c>sleep</c> as DCP runs a resource.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class OrchestratorProcessesTests : IDisposable
{
    private readonly TestDirectories directories = new();
    private readonly List<Process> started = [];

    public void Dispose()
    {
        foreach (var process in started)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }

            process.Dispose();
        }

        directories.Dispose();
    }

    /// <summary>Starts <c>dcp</c>, a script that runs <c>sleep</c> and waits for it; returns both process ids.</summary>
    private async Task<(Process Dcp, int Resource)> StartStandInAsync()
    {
        var script = Path.Combine(directories.Bin, "dcp");
        await File.WriteAllTextAsync(script, "#!/bin/sh\nsleep 300 &\necho $!\nwait\n", TestContext.Current.CancellationToken);
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var dcp = Process.Start(new ProcessStartInfo(script) { RedirectStandardOutput = true })!;
        started.Add(dcp);
        var resource = int.Parse((await dcp.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken))!, System.Globalization.CultureInfo.InvariantCulture);
        return (dcp, resource);
    }

    [Fact]
    public async Task The_dcp_process_above_a_resource_is_found_and_runs_until_it_is_killed()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "/proc is Linux's");
        var (dcp, resource) = await StartStandInAsync();

        Assert.Equal(dcp.Id, OrchestratorProcesses.ParentOf(resource));
        var found = Assert.Single(OrchestratorProcesses.Above(resource)); // the test process above it is no dcp
        Assert.Equal(dcp.Id, found.Pid);
        Assert.Contains("dcp", found.Command, StringComparison.Ordinal);
        Assert.True(OrchestratorProcesses.IsRunning(found));

        dcp.Kill(entireProcessTree: true);
        await dcp.WaitForExitAsync(TestContext.Current.CancellationToken);

        Assert.False(OrchestratorProcesses.IsRunning(found));
    }

    [Fact]
    public async Task A_process_with_the_same_id_but_another_start_time_is_not_the_one_found()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "/proc is Linux's");
        var (_, resource) = await StartStandInAsync();
        var found = Assert.Single(OrchestratorProcesses.Above(resource));

        Assert.False(OrchestratorProcesses.IsRunning(found with { StartTime = found.StartTime + 1 }));
    }

    [Fact]
    public void A_process_without_dcp_above_it_has_no_orchestrator_and_a_gone_one_none_either()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "/proc is Linux's");

        Assert.Empty(OrchestratorProcesses.Above(Environment.ProcessId));
        Assert.Empty(OrchestratorProcesses.Above(int.MaxValue));
        Assert.Null(ProcessStat.Read(int.MaxValue));
    }
}
