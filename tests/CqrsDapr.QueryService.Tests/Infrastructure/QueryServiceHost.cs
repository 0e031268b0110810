using System.Globalization;
using CqrsDapr.Contracts.Products;
using CqrsDapr.QueryService.Products;
using CqrsDapr.QueryService.Views;
using CqrsDapr.TestSupport;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.QueryService.Tests.Infrastructure;

/// <summary>
/// The query service running for real, once per test class: a sidecar process with the <c>viewstore</c> component on
/// its own read database (<see cref="ViewStoreSidecar"/>), and the app on a free Kestrel port, given the sidecar's
/// endpoints and token through its own configuration. Tests arrange views through the app's own store and signal.
/// </summary>
public class QueryServiceHost(ReadDatabaseServer server) : IAsyncLifetime
{
    private readonly ViewStoreSidecar sidecar = new(server);
    private WebApplicationFactory<Program>? factory;

    public HttpClient Client { get; private set; } = new();

    /// <summary><c>Consistency:MaxWait</c>. Long by default: a read woken in time proves the signal works.</summary>
    protected virtual TimeSpan MaxWait => TimeSpan.FromSeconds(10);

    /// <summary><c>Consistency:PollInterval</c>: long, so only <see cref="ViewChanges"/> can wake a read quickly.</summary>
    protected virtual TimeSpan PollInterval => TimeSpan.FromSeconds(5);

    internal IProductViewStore Store => Services.GetRequiredService<IProductViewStore>();

    internal ViewChanges Changes => Services.GetRequiredService<ViewChanges>();

    private IServiceProvider Services => (factory ?? throw new InvalidOperationException("not started")).Services;

    public async ValueTask InitializeAsync()
    {
        await sidecar.InitializeAsync();
        var appPort = FreePort.Next();
        factory = new QueryServiceFactory(web =>
        {
            web.UseEnvironment("Production");
            web.UseSetting("DAPR_HTTP_ENDPOINT", sidecar.Sidecar.HttpEndpoint);
            web.UseSetting("DAPR_GRPC_ENDPOINT", sidecar.Sidecar.GrpcEndpoint);
            web.UseSetting("DAPR_API_TOKEN", ViewStoreSidecar.ApiToken);
            web.UseSetting("Consistency:MaxWait", MaxWait.ToString("c", CultureInfo.InvariantCulture));
            web.UseSetting("Consistency:PollInterval", PollInterval.ToString("c", CultureInfo.InvariantCulture));
            web.UseSetting("Logging:LogLevel:Default", "Warning");
            web.ConfigureLogging(logging => logging.ClearProviders());
        });
        factory.UseKestrel(appPort);
        factory.StartServer();
        Client = new HttpClient { BaseAddress = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{appPort}")) };
    }

    /// <summary>A stored product view (keys filled, as the projector stores it).</summary>
    internal async Task<ProductView> AProductAsync(string category, string name = "Desk", decimal price = 10m, long version = 1)
    {
        var view = ProductViewKeys.WithKeys(new ProductView
        {
            Id = Guid.CreateVersion7(),
            Sku = "SKU-" + Guid.NewGuid().ToString("N")[..8],
            Name = name,
            Description = "A " + name,
            Category = category,
            Price = new Money(price, "EUR"),
            Stock = 4,
            Version = version,
            CreatedAt = new DateTimeOffset(2026, 2, 3, 4, 5, 6, TimeSpan.Zero),
            UpdatedAt = new DateTimeOffset(2026, 2, 3, 4, 5, 6, TimeSpan.Zero).AddMinutes(version),
        });
        if (!await Store.TrySaveAsync(view, null, TestContext.Current.CancellationToken))
        {
            throw new InvalidOperationException("the view was already there");
        }

        return view;
    }

    /// <summary>Saves the next version of a stored view, as a projector would (ETag-guarded), and signals it.</summary>
    internal async Task<ProductView> ProjectAsync(Guid id, Func<ProductView, ProductView> change)
    {
        var ct = TestContext.Current.CancellationToken;
        var stored = await Store.GetAsync(id, ct) ?? throw new InvalidOperationException("no view");
        var next = ProductViewKeys.WithKeys(change(stored.View) with { Version = stored.View.Version + 1 });
        if (!await Store.TrySaveAsync(next, stored.ETag, ct))
        {
            throw new InvalidOperationException("lost a save race in a test");
        }

        Changes.Published(id);
        return next;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (factory is not null)
        {
            await factory.DisposeAsync();
        }

        await sidecar.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    private sealed class QueryServiceFactory(Action<IWebHostBuilder> configure) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder) => configure(builder);
    }
}

/// <summary>The query service with a short consistency wait, for reads that must give up.</summary>
public sealed class ImpatientQueryServiceHost(ReadDatabaseServer server) : QueryServiceHost(server)
{
    protected override TimeSpan MaxWait => TimeSpan.FromMilliseconds(300);

    protected override TimeSpan PollInterval => TimeSpan.FromMilliseconds(100);
}
