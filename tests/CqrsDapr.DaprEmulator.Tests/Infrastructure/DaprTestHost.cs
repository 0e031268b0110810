using CqrsDapr.TestSupport;
using Dapr.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace CqrsDapr.DaprEmulator.Tests.Infrastructure;

/// <summary>
/// A sidecar (the emulator, or daprd when installed) as a separate process, optionally with a real ASP.NET Core app
/// behind it, and an official Dapr SDK client talking to the sidecar: the shape every conformance test needs.
/// </summary>
public sealed class DaprTestHost : IAsyncDisposable
{
    private readonly Action<IServiceCollection>? configureServices;
    private readonly Action<WebApplication>? configureApp;

    private DaprTestHost(Sidecar sidecar, DaprClient client, int? appPort, Action<IServiceCollection>? configureServices, Action<WebApplication>? configureApp)
    {
        Sidecar = sidecar;
        Client = client;
        AppPort = appPort;
        this.configureServices = configureServices;
        this.configureApp = configureApp;
    }

    public Sidecar Sidecar { get; }

    /// <summary>An SDK client bound to this sidecar (gRPC and HTTP endpoints, API token).</summary>
    public DaprClient Client { get; }

    public int? AppPort { get; }

    public TestApp? App { get; private set; }

    /// <summary>Every request the sidecar made to the app, across app restarts.</summary>
    public RequestLog AppLog { get; } = new();

    public Sidecars Endpoints => new(Sidecar.HttpEndpoint, Sidecar.GrpcEndpoint, ApiToken);

    public string? ApiToken { get; private init; }

    /// <summary>
    /// Starts the sidecar, then (when <paramref name="withApp"/>) the app on the port the sidecar was told about.
    /// The app gets the sidecar's endpoints through its DaprClient registration, as a service would.
    /// </summary>
    public static async Task<DaprTestHost> StartAsync(
        string appId,
        Resources resources,
        Action<IServiceCollection>? configureServices = null,
        Action<WebApplication>? configureApp = null,
        bool withApp = true,
        string? apiToken = null,
        string? appApiToken = null,
        string? configPath = null,
        int? appPort = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(resources);
        var port = appPort ?? (withApp ? FreePort.Next() : null);
        var sidecar = await Sidecar.StartAsync(new SidecarOptions
        {
            AppId = appId,
            AppPort = port,
            ResourcesPaths = [resources.Path],
            ConfigPath = configPath,
            ApiToken = apiToken,
            AppApiToken = appApiToken,
            LogLevel = "debug",
            Environment = environment?.ToDictionary(StringComparer.Ordinal) ?? new Dictionary<string, string>(StringComparer.Ordinal),
        });
        var client = new DaprClientBuilder()
            .UseGrpcEndpoint(sidecar.GrpcEndpoint)
            .UseHttpEndpoint(sidecar.HttpEndpoint)
            .UseDaprApiToken(apiToken)
            .Build();
        var host = new DaprTestHost(sidecar, client, port, configureServices, configureApp) { ApiToken = apiToken };
        if (withApp)
        {
            await host.StartAppAsync();
        }

        return host;
    }

    /// <summary>Starts (or restarts) the app on the same port with the same routes.</summary>
    public async Task StartAppAsync()
    {
        if (AppPort is not { } port)
        {
            throw new InvalidOperationException("this host has no app");
        }

        App = await TestApp.StartAsync(port, Endpoints, configureServices, configureApp, AppLog);
    }

    /// <summary>Stops the app (the sidecar keeps running and sees the app as down).</summary>
    public async Task StopAppAsync()
    {
        if (App is not null)
        {
            await App.DisposeAsync();
            App = null;
        }
    }

    /// <summary>Waits until the sidecar reports ready on <c>/v1.0/healthz</c> (app channel up, subscriptions read).</summary>
    public async Task WaitForSidecarReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = new Uri(Sidecar.HttpEndpoint) };
        await Eventually.Until(
            async () => (await http.GetAsync(new Uri("/v1.0/healthz", UriKind.Relative))).StatusCode,
            s => s == System.Net.HttpStatusCode.NoContent,
            timeout,
            "sidecar /v1.0/healthz to answer 204");
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await StopAppAsync();
        await Sidecar.DisposeAsync();
    }
}
