using CqrsDapr.Contracts;
using CqrsDapr.QueryService.DaprSidecar;
using CqrsDapr.QueryService.Products;
using CqrsDapr.QueryService.Projection;
using CqrsDapr.QueryService.Views;
using HoldingSidecar = CqrsDapr.TestSupport.HoldingSidecar;
using Dapr.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using static CqrsDapr.QueryService.Tests.Infrastructure.ProductEvents;


namespace CqrsDapr.QueryService.Tests.DaprSidecar;

/// <summary>
/// The service's connections to its own sidecar, against a stand-in sidecar that holds every call: the DaprClient's
/// calls share one HTTP/2 connection and each carries a deadline the sidecar is told; the view store's bulk saves share
/// at most <c>Sidecar:MaxConnections</c> connections. And a delivery whose sidecar goes away still finishes its write.
/// </summary>
public sealed class SidecarConnectionTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task State_calls_share_one_http2_connection_and_each_has_a_deadline_the_sidecar_is_told()
    {
        await using var sidecar = await HoldingSidecar.StartAsync(HttpProtocols.Http2, Ct);
        await using var provider = Services(sidecar, ("Sidecar:CallTimeout", "00:00:02"));
        var dapr = provider.GetRequiredService<DaprClient>();

        var reads = Enumerable.Range(0, 10)
            .Select(i => Assert.ThrowsAnyAsync<OperationCanceledException>(() => dapr.GetStateAsync<string>(DaprNames.ViewStore, $"k{i}", cancellationToken: Ct)))
            .ToList();
        await Task.WhenAll(reads).WaitAsync(Wait, Ct); // the stand-in never answers: each call ends at its deadline

        Assert.Equal(10, sidecar.Calls);
        Assert.Equal(1, sidecar.Connections);
        Assert.All(sidecar.Deadlines, deadline => Assert.Equal("2000m", deadline));
    }

    [Fact]
    public async Task Bulk_saves_share_at_most_max_connections_and_the_chunks_beyond_wait_for_a_free_one()
    {
        await using var sidecar = await HoldingSidecar.StartAsync(HttpProtocols.Http1, Ct);
        sidecar.StatusCode = StatusCodes.Status204NoContent; // what daprd answers a state save
        await using var provider = Services(sidecar, ("Sidecar:MaxConnections", "2"));
        var stores = new DaprProductViewStores(
            provider.GetRequiredService<DaprClient>(), provider.GetRequiredService<IConfiguration>(), provider.GetRequiredService<IOptions<SidecarOptions>>());
        var views = Enumerable.Range(0, 2000).Select(_ => (View(Guid.NewGuid()), (string?)null)).ToList();

        var save = stores.Generation(1).TrySaveManyAsync(views, Ct); // 4 chunks of 500, sent 4 at a time
        await sidecar.WaitForInFlightAsync(2, Wait, Ct);
        await Task.Delay(300, Ct); // room for a third chunk to arrive, were the connections not bounded

        Assert.Equal(2, sidecar.Calls);
        sidecar.Release();
        Assert.True(await save.WaitAsync(Wait, Ct));
        Assert.Equal(4, sidecar.Calls);
        Assert.Equal(2, sidecar.MaxInFlight);
        Assert.InRange(sidecar.Connections, 1, 2);
        stores.Dispose();
    }

    [Fact]
    public async Task A_delivery_the_sidecar_gives_up_on_still_finishes_its_write()
    {
        var store = new HoldingViewStore();
        await using var app = new QueryServiceWithStore(store);
        using var client = app.CreateClient();
        using var giveUp = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        // An update, not a creation: a creation is saved without a read, and the test holds the projection at its read.
        using var body = new ByteArrayContent(Json(Updated(Guid.NewGuid(), 2, "Lamp")));
        body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");

        var delivery = client.PostAsync(new Uri(ProjectionModule.ProductsRoute, UriKind.Relative), body, giveUp.Token);
        await store.Read.Task.WaitAsync(Wait, Ct);
        await giveUp.CancelAsync(); // the sidecar went away between the projection's read and its write
        await app.Aborted.Task.WaitAsync(Wait, Ct); // the app's request saw it
        store.Release();

        Assert.True(await store.Saved.Task.WaitAsync(Wait, Ct), "the write ran with a cancelled token");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => delivery.WaitAsync(Wait, Ct));
    }

    private static ProductView View(Guid id) => new()
    {
        Id = id,
        Sku = "SKU-" + id.ToString("N")[..8],
        Name = "Lamp",
        Category = "lighting",
        Price = new CqrsDapr.Contracts.Products.Money(10m, "EUR"),
        Stock = 5,
        Version = 1,
        CreatedAt = Start,
        UpdatedAt = Start,
    };

    private static ServiceProvider Services(HoldingSidecar sidecar, params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(
            new Dictionary<string, string?> { ["DAPR_GRPC_ENDPOINT"] = sidecar.Endpoint, ["DAPR_HTTP_ENDPOINT"] = sidecar.Endpoint }
                .Concat(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value))))
            .Build();
        return new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddSidecarConnections(configuration).BuildServiceProvider();
    }

    /// <summary>
    /// The query service with its views in <paramref name="store"/> (generation 1, no generations document);
    /// <see cref="Aborted"/> completes when a request's client goes away.
    /// </summary>
    private sealed class QueryServiceWithStore(HoldingViewStore store) : WebApplicationFactory<Program>
    {
        public TaskCompletionSource Aborted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Production");
            builder.UseSetting("Logging:LogLevel:Default", "Critical");
            builder.ConfigureTestServices(services =>
            {
                services.AddSingleton<IProductViewStores>(store);
                services.AddSingleton<IGenerationsStore>(store);
                services.AddSingleton<IStartupFilter>(new AbortSignal(Aborted));
            });
        }

        private sealed class AbortSignal(TaskCompletionSource aborted) : IStartupFilter
        {
            public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
            {
                app.Use((context, following) =>
                {
                    context.RequestAborted.Register(() => aborted.TrySetResult());
                    return following(context);
                });
                next(app);
            };
        }
    }

    /// <summary>
    /// A view store whose first read waits until <see cref="Release"/>; <see cref="Saved"/> tells whether the save that
    /// follows ran with a live token. Also the generations store (none saved: generation 1).
    /// </summary>
    private sealed class HoldingViewStore : IProductViewStores, IProductViewStore, IGenerationsStore
    {
        private readonly TaskCompletionSource released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Read { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<bool> Saved { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Generation => 1;

        public void Release() => released.TrySetResult();

        IProductViewStore IProductViewStores.Generation(int generation) => this;

        public async Task<StoredView?> GetAsync(Guid id, CancellationToken cancellationToken)
        {
            Read.TrySetResult();
            await released.Task.WaitAsync(cancellationToken);
            return null;
        }

        public Task<bool> TrySaveAsync(ProductView view, string? etag, CancellationToken cancellationToken)
        {
            Saved.TrySetResult(!cancellationToken.IsCancellationRequested);
            return Task.FromResult(true);
        }

        public async Task<IReadOnlyDictionary<Guid, StoredView>> GetManyAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken)
        {
            Read.TrySetResult();
            await released.Task.WaitAsync(cancellationToken);
            return new Dictionary<Guid, StoredView>();
        }

        public Task<bool> TrySaveManyAsync(IReadOnlyList<(ProductView View, string? ETag)> views, CancellationToken cancellationToken)
        {
            Saved.TrySetResult(!cancellationToken.IsCancellationRequested);
            return Task.FromResult(true);
        }

        public Task<long> DeleteAllAsync(CancellationToken cancellationToken) => Task.FromResult(0L);

        public Task<ProductPage> QueryAsync(ProductQuery query, CancellationToken cancellationToken) => Task.FromResult(new ProductPage([], null));

        Task<(GenerationsDocument? Document, string? ETag)> IGenerationsStore.ReadAsync(CancellationToken cancellationToken) =>
            Task.FromResult<(GenerationsDocument?, string?)>((null, null));

        Task<bool> IGenerationsStore.TrySaveAsync(GenerationsDocument document, string? etag, CancellationToken cancellationToken) => Task.FromResult(true);
    }
}
