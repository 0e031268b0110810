using System.Diagnostics;
using System.Globalization;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.EndToEnd.Tests;

/// <summary>
/// The AppHost never lets a resource die silently: a process killed (SIGKILL) is an error in the AppHost's log naming
/// the resource, its state and exit code; a resource stopped on request (the dashboard's Stop command) is none; and
/// nothing is reported while the AppHost itself stops. The real AppHost runs in the test process (Aspire.Hosting.Testing)
/// with its log captured, on a system of its own (killing parts of the shared one would disturb the other tests).
/// </summary>
public sealed class ResourceSupervisionTests : IAsyncDisposable
{
    private const string Supervisor = "CqrsDapr.AppHost.ResourceSupervisor";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(4);
    private static readonly TimeSpan ReportTimeout = TimeSpan.FromMinutes(1);

    private readonly string dataDirectory = Path.Combine(Path.GetTempPath(), "cqrsdapr-e2e", Guid.NewGuid().ToString("N"));
    private readonly CapturedLog log = new("CqrsDapr.AppHost");
    private DistributedApplication? app;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Exited(string resource) => $"Resource {resource} exited unexpectedly";

    [Fact]
    public async Task A_killed_resource_is_an_error_naming_it_a_stopped_one_is_none()
    {
        app = await StartAsync();

        // Stopped on request: noted, no error. (Its exit is reported, if at all, before the kill's below: one stream.)
        var stop = await app.ResourceCommands.ExecuteCommandAsync("redis", KnownResourceCommands.StopCommand, Ct);
        Assert.True(stop.Success, stop.Message);
        await WaitForStateAsync("redis", "Exited", "Finished");

        Kill("command-service-dapr");
        Assert.True(await log.WaitForAsync(LogLevel.Error, Exited("command-service-dapr"), ReportTimeout, Ct), Describe());
        var report = Assert.Single(log.Entries, entry => entry.Message.Contains(Exited("command-service-dapr"), StringComparison.Ordinal));
        Assert.Equal(Supervisor, report.Category);
        Assert.Matches(@"state (Finished|Exited), exit code -?\d+", report.Message);
        Assert.Equal(0, log.Count(LogLevel.Error, Exited("redis")));

        // Started again, then killed: the request was used up by the stop it explained.
        var start = await app.ResourceCommands.ExecuteCommandAsync("redis", KnownResourceCommands.StartCommand, Ct);
        Assert.True(start.Success, start.Message);
        // Running first: until the new process is up, the last state is still the stop's Exited, which the health
        // wait takes for a failed start.
        await WaitForStateAsync("redis", "Running");
        using (var healthy = new CancellationTokenSource(StartTimeout))
        {
            await app.ResourceNotifications.WaitForResourceHealthyAsync("redis", healthy.Token);
        }

        Kill("redis");
        Assert.True(await log.WaitForAsync(LogLevel.Error, Exited("redis"), ReportTimeout, Ct), Describe());

        // Two of the system's processes gone is no teardown: the AppHost runs on.
        Assert.Equal(0, log.Count(LogLevel.Error, "orchestrator"));
        var errorsBeforeStop = log.Entries.Count(entry => entry.Level >= LogLevel.Error);

        await app.StopAsync(Ct);

        Assert.Equal(errorsBeforeStop, log.Entries.Count(entry => entry.Level >= LogLevel.Error));
    }

    private async Task<DistributedApplication> StartAsync()
    {
        using var timeout = new CancellationTokenSource(StartTimeout);
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.CqrsDapr_AppHost>(
            [$"--CqrsDapr:DataDirectory={dataDirectory}", "--CqrsDapr:Ports:gateway=0"], timeout.Token);
        builder.Services.AddLogging(logging => logging
            .AddProvider(log)
            .AddFilter("System.Net.Http.HttpClient", LogLevel.Warning)
            .AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None));
        var started = await builder.BuildAsync(timeout.Token);
        await started.StartAsync(timeout.Token);
        await started.ResourceNotifications.WaitForResourceHealthyAsync("gateway", timeout.Token);
        return started;
    }

    private async Task WaitForStateAsync(string resource, params string[] states)
    {
        using var timeout = new CancellationTokenSource(ReportTimeout);
        await app!.ResourceNotifications.WaitForResourceAsync(resource, e => states.Contains(e.Snapshot.State?.Text), timeout.Token);
    }

    /// <summary>SIGKILL to the resource's process and its children: no shutdown code runs.</summary>
    private void Kill(string resource)
    {
        Assert.True(app!.ResourceNotifications.TryGetCurrentState(resource, out var state), $"{resource} is unknown");
        var pid = state.Snapshot.Properties.FirstOrDefault(p => p.Name is "executable.pid" or "project.pid")?.Value;
        using var process = Process.GetProcessById(Convert.ToInt32(pid, CultureInfo.InvariantCulture));
        process.Kill(entireProcessTree: true);
    }

    private string Describe() =>
        "The AppHost's log: " + string.Join(Environment.NewLine, log.Entries.Where(e => e.Level >= LogLevel.Warning).Select(e => $"{e.Level} {e.Category}: {e.Message}"));

    public async ValueTask DisposeAsync()
    {
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        if (Directory.Exists(dataDirectory))
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }
}
