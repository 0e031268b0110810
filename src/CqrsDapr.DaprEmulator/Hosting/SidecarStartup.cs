using CqrsDapr.DaprEmulator.Actors;
using CqrsDapr.DaprEmulator.PubSub;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.DaprEmulator.Hosting;

/// <summary>
/// What daprd does once its APIs listen (1.16 <c>pkg/runtime/runtime.go</c>): wait for the app port, read the app's
/// actor config (<c>GET /dapr/config</c>) and subscriptions (<c>GET /dapr/subscribe</c>), start delivering, then
/// report ready on <c>/v1.0/healthz</c>.
/// </summary>
internal sealed partial class SidecarStartup(
    EmulatorOptions options,
    AppChannel.AppChannel appChannel,
    ActorRuntime actors,
    SubscriptionManager subscriptions,
    SidecarStatus status,
    IHostApplicationLifetime lifetime,
    ILogger<SidecarStartup> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            if (appChannel.Enabled)
            {
                await appChannel.WaitForAppAsync(stoppingToken);
                LogAppReady(logger, options.AppPort!.Value);
                await actors.InitializeAsync(stoppingToken);
                await subscriptions.StartAsync(stoppingToken);
            }

            status.MarkReady();
            LogReady(logger, options.AppId, (DateTimeOffset.UtcNow - status.StartedAt).TotalMilliseconds);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            LogFatal(logger, ex);
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await subscriptions.DisposeAsync();
        await actors.DisposeAsync();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Application discovered on port {Port}")]
    private static partial void LogAppReady(ILogger logger, int port);

    [LoggerMessage(Level = LogLevel.Information, Message = "dapr emulator initialized for app '{AppId}'. Status: Running. Init Elapsed {ElapsedMs:F0}ms")]
    private static partial void LogReady(ILogger logger, string appId, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Fatal error while starting the sidecar")]
    private static partial void LogFatal(ILogger logger, Exception exception);
}
