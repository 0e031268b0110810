using System.Net;
using CqrsDapr.DaprEmulator.Actors;
using CqrsDapr.DaprEmulator.Hosting;
using CqrsDapr.DaprEmulator.State;
using CqrsDapr.DaprEmulator.Tests.Infrastructure;
using CqrsDapr.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.DaprEmulator.Tests.Actors;

/// <summary>
/// The emulator's actor runtime and actor HTTP API hosted in the test process over a state store the test holds:
/// for what a sidecar process cannot show with an in-memory store (which dies with the process) — what lands in the
/// store, a sidecar restarting over the same store, two sidecars sharing one store.
/// </summary>
internal sealed class InProcessActorSidecar : IAsyncDisposable
{
    private readonly WebApplication app;
    private bool stopped;

    private InProcessActorSidecar(WebApplication app, int port)
    {
        this.app = app;
        Port = port;
    }

    public int Port { get; }

    public string HttpEndpoint => $"http://127.0.0.1:{Port}";

    /// <summary>What the app is configured with (there is no gRPC port; the actors SDK uses HTTP only).</summary>
    public Sidecars Endpoints => new(HttpEndpoint, HttpEndpoint, null);

    public ActorRuntime Runtime => app.Services.GetRequiredService<ActorRuntime>();

    /// <summary>
    /// Starts the actor API on <paramref name="port"/> (a free one by default) for the app on <paramref name="appPort"/>,
    /// its app channel bounded by <paramref name="appMaxConcurrency"/> (<c>--app-max-concurrency</c>; -1: unbounded).
    /// </summary>
    public static async Task<InProcessActorSidecar> StartAsync(string appId, IStateStore store, int appPort, int? port = null, int appMaxConcurrency = -1)
    {
        var httpPort = port ?? FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, httpPort));
        builder.Services.AddSingleton(new EmulatorOptions { AppId = appId, AppPort = appPort, HttpPort = httpPort, AppMaxConcurrency = appMaxConcurrency });
        builder.Services.AddSingleton<AppChannel.AppChannel>();
        builder.Services.AddSingleton(sp => new ActorRuntime(
            appId, () => store, new HashSet<string>(), sp.GetRequiredService<AppChannel.AppChannel>(), sp.GetRequiredService<ILoggerFactory>(), TimeProvider.System));
        var app = builder.Build();
        ActorRuntime.MapEndpoints(app);
        await app.StartAsync();
        return new InProcessActorSidecar(app, httpPort);
    }

    /// <summary>What the sidecar does once the app listens: read its actor config and start hosting.</summary>
    public Task InitializeAsync(CancellationToken cancellationToken) => Runtime.InitializeAsync(cancellationToken);

    /// <summary>A clean stop: actors deactivated, host lease released, port freed.</summary>
    public async Task StopAsync()
    {
        if (stopped)
        {
            return;
        }

        stopped = true;
        await Runtime.DisposeAsync();
        await app.StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await app.DisposeAsync();
    }
}
