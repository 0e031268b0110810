using Aspire.Hosting;
using Aspire.Hosting.Testing;

namespace CqrsDapr.EndToEnd.Tests;

/// <summary>
/// The whole system, started once for the test class through the real AppHost: its own data directory (fresh
/// databases) and ports Aspire allocates, the gateway included. Disposing stops every process it started.
/// </summary>
public sealed class SystemFixture : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);
    private readonly string dataDirectory = Path.Combine(Path.GetTempPath(), "cqrsdapr-e2e", Guid.NewGuid().ToString("N"));
    private DistributedApplication? app;

    /// <summary>A client of the gateway: the system's only public entrance.</summary>
    public HttpClient Gateway { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(StartTimeout);
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.CqrsDapr_AppHost>(
            [$"--CqrsDapr:DataDirectory={dataDirectory}", "--CqrsDapr:Ports:gateway=0"], timeout.Token);
        app = await builder.BuildAsync(timeout.Token);
        await app.StartAsync(timeout.Token);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("gateway", timeout.Token);
        Gateway = app.CreateHttpClient("gateway");
    }

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
