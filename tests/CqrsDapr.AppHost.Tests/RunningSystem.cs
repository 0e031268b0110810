using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CqrsDapr.AppHost.Tests;

/// <summary>
/// The whole system, started once for the test class through the real AppHost (its own data directory, ports Aspire
/// allocates), with the sidecar the machine has: daprd when installed, the emulator otherwise. Disposing stops every
/// process it started.
/// </summary>
public sealed class RunningSystem : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);
    private readonly string dataDirectory = Path.Combine(Path.GetTempPath(), "cqrsdapr-apphost-tests", Guid.NewGuid().ToString("N"));
    private DistributedApplication? app;

    public DistributedApplication App => app ?? throw new InvalidOperationException("not started");

    /// <summary>A client of the gateway: the system's public entrance.</summary>
    public HttpClient Gateway { get; private set; } = null!;

    /// <summary>This run's <c>DAPR_API_TOKEN</c> (apps → sidecars).</summary>
    public string ApiToken { get; private set; } = "";

    /// <summary>This run's <c>APP_API_TOKEN</c> (sidecars → apps).</summary>
    public string AppToken { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(StartTimeout);
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.CqrsDapr_AppHost>(
            [$"--CqrsDapr:DataDirectory={dataDirectory}", "--CqrsDapr:Ports:gateway=0"], timeout.Token);
        app = await builder.BuildAsync(timeout.Token);
        await app.StartAsync(timeout.Token);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("gateway", timeout.Token);
        Gateway = app.CreateHttpClient("gateway");
        var parameters = app.Services.GetRequiredService<DistributedApplicationModel>().Resources.OfType<ParameterResource>().ToList();
        ApiToken = await parameters.Single(p => p.Name == "dapr-api-token").GetValueAsync(timeout.Token) ?? "";
        AppToken = await parameters.Single(p => p.Name == "app-api-token").GetValueAsync(timeout.Token) ?? "";
    }

    /// <summary>A client of a resource's HTTP endpoint (a sidecar's Dapr API, an app's own port).</summary>
    public HttpClient Client(string resource) => new() { BaseAddress = App.GetEndpoint(resource, "http") };

    public async ValueTask DisposeAsync()
    {
        Gateway?.Dispose();
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
