using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.AppHost;

/// <summary>
/// Watches the system's processes while the AppHost runs, so that it never dies silently: every resource that exits
/// unexpectedly is an error in the AppHost's log with its name, state and exit code (<see cref="ResourceExits"/>), and
/// when the orchestrator tears the system down (DCP's processes exit, or every resource stops without anyone asking)
/// the AppHost says so and stops with <see cref="OrchestratorLostExitCode"/> instead of running on with nothing behind
/// it. Nothing is reported once the AppHost itself stops.
/// </summary>
internal sealed partial class ResourceSupervisor(
    ResourceNotificationService notifications,
    RequestedStops stops,
    IHostApplicationLifetime lifetime,
    ILogger<ResourceSupervisor> logger) : BackgroundService
{
    /// <summary>The AppHost's exit code when the orchestrator tore the system down (1 is a refused start).</summary>
    public const int OrchestratorLostExitCode = 3;

    private static readonly TimeSpan ProcessCheckInterval = TimeSpan.FromSeconds(1);

    private readonly ResourceExits exits = new();
    private readonly TaskCompletionSource<IReadOnlyList<ProcessIdentity>> orchestrator = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool lost;

    /// <summary>Whether the orchestrator tore the system down while the AppHost ran.</summary>
    public bool OrchestratorLost => lost;

    public static void Add(IDistributedApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (!builder.ExecutionContext.IsRunMode)
        {
            return;
        }

        var stops = new RequestedStops();
        stops.Add(builder);
        builder.Services.AddSingleton(stops);
        builder.Services.AddSingleton<ResourceSupervisor>();
        builder.Services.AddHostedService(services => services.GetRequiredService<ResourceSupervisor>());
    }

    /// <summary>The exit code of a run that ended without an exception.</summary>
    public static int ExitCode(IServiceProvider services) =>
        services.GetService<ResourceSupervisor>() is { OrchestratorLost: true } ? OrchestratorLostExitCode : 0;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var processes = WatchOrchestratorAsync(stoppingToken);
        try
        {
            await foreach (var change in notifications.WatchAsync(stoppingToken))
            {
                Observe(change);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await processes;
    }

    private void Observe(ResourceEvent change)
    {
        if (change.Resource is not (ExecutableResource or ProjectResource) || change.Snapshot.IsHidden || Stopping)
        {
            return; // the dashboard and Aspire's helpers are hidden; parameters have no process
        }

        LogState(logger, change.ResourceId, change.Snapshot.State?.Text);
        FindOrchestrator(change.Snapshot);
        var stopRequested = change.Snapshot.State?.Text is { } state && KnownResourceStates.TerminalStates.Contains(state)
            && stops.Take(change.ResourceId, change.Resource.Name);
        if (exits.Observe(change.ResourceId, change.Resource.Name, change.Snapshot.State?.Text, change.Snapshot.ExitCode, stopRequested) is { Unexpected: true } exit)
        {
            LogUnexpectedExit(logger, exit.Name, exit.State, Describe(exit.ExitCode));
            if (exits.EverythingStopped)
            {
                LogEverythingStopped(logger, OrchestratorLostExitCode);
                Lose();
            }
        }
    }

    /// <summary>DCP's processes, from the first resource process Aspire reports (Linux).</summary>
    private void FindOrchestrator(CustomResourceSnapshot snapshot)
    {
        if (orchestrator.Task.IsCompleted || !OperatingSystem.IsLinux() || ResourcePid.Of(snapshot) is not { } pid)
        {
            return;
        }

        if (OrchestratorProcesses.Above(pid) is { Count: > 0 } found)
        {
            foreach (var process in found)
            {
                LogOrchestratorFound(logger, process.Command, process.Pid);
            }

            orchestrator.TrySetResult(found);
        }
    }

    /// <summary>Checks every second that DCP's processes run, once they are known.</summary>
    private async Task WatchOrchestratorAsync(CancellationToken stoppingToken)
    {
        try
        {
            var processes = await orchestrator.Task.WaitAsync(stoppingToken);
            using var timer = new PeriodicTimer(ProcessCheckInterval);
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (processes.FirstOrDefault(process => !OrchestratorProcesses.IsRunning(process)) is not { } gone)
                {
                    continue;
                }

                if (!Stopping)
                {
                    LogOrchestratorExited(logger, gone.Command, gone.Pid, OrchestratorLostExitCode);
                    Lose();
                }

                return;
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private bool Stopping => lifetime.ApplicationStopping.IsCancellationRequested;

    /// <summary>An exit code for the log: DCP reports -1 when it has none, as for a process a signal killed.</summary>
    internal static string Describe(int? exitCode) => exitCode switch
    {
        null => "unknown",
        -1 => "-1 (none reported, as when a signal kills the process)",
        var code => code.Value.ToString(CultureInfo.InvariantCulture),
    };

    private void Lose()
    {
        lost = true;
        lifetime.StopApplication();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Resource {Resource} is {State}")]
    private static partial void LogState(ILogger logger, string resource, string? state);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Watching the orchestrator's process {Command} ({Pid})")]
    private static partial void LogOrchestratorFound(ILogger logger, string command, int pid);

    [LoggerMessage(Level = LogLevel.Error, Message = "Resource {Resource} exited unexpectedly: state {State}, exit code {ExitCode}. It stays down until started again (the dashboard's Start command, or a new run of the AppHost)")]
    private static partial void LogUnexpectedExit(ILogger logger, string resource, string state, string exitCode);

    [LoggerMessage(Level = LogLevel.Error, Message = "Every resource has stopped and nobody asked for it: the orchestrator (DCP) tore the system down. The AppHost stops (exit code {ExitCode}); start it again")]
    private static partial void LogEverythingStopped(ILogger logger, int exitCode);

    [LoggerMessage(Level = LogLevel.Error, Message = "The orchestrator (DCP: {Command}, process {Pid}) exited while the AppHost was running: no resource runs any more. The AppHost stops (exit code {ExitCode}); start it again")]
    private static partial void LogOrchestratorExited(ILogger logger, string command, int pid, int exitCode);
}
