using System.Diagnostics;
using System.Globalization;
using CqrsDapr.Contracts;
using CqrsDapr.Contracts.Products;
using CqrsDapr.QueryService.Products;
using CqrsDapr.QueryService.Views;
using CqrsDapr.TestSupport;
using Dapr.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.QueryService.Tests.Infrastructure;

/// <summary>
/// The query service running for real, once per test class: its own read database (viewstore, state.postgresql v1)
/// and its own Redis (pubsub.redis, so no other class's events reach this consumer group), a Dapr sidecar (daprd or the
/// emulator) that delivers the <c>products</c> topic to the app on a free Kestrel port, and a <see cref="DaprClient"/>
/// that publishes as the command service's relay does. Tests may also arrange views through the app's own store.
/// </summary>
public class QueryServiceHost(ReadDatabaseServer database) : IAsyncLifetime
{
    private protected ReadDatabaseServer Database => database;

    public const string ApiToken = "query-test-token";

    private Resources? resources;
    private RedisServer? redis;
    private Sidecar? sidecar;
    private WebApplicationFactory<Program>? factory;

    public HttpClient Client { get; private set; } = new();

    public DaprClient Publisher { get; private set; } = null!;

    public Sidecar Sidecar => sidecar ?? throw new InvalidOperationException("not started");

    public IServiceProvider Services => (factory ?? throw new InvalidOperationException("not started")).Services;

    internal IProductViewStore Store => Services.GetRequiredService<ViewGenerations>().Active;

    internal ViewChanges Changes => Services.GetRequiredService<ViewChanges>();

    /// <summary><c>Consistency:MaxWait</c>. Long by default: a read woken in time proves the signal works.</summary>
    protected virtual TimeSpan MaxWait => TimeSpan.FromSeconds(10);

    /// <summary><c>Consistency:PollInterval</c>: long, so only <see cref="ViewChanges"/> can wake a read quickly.</summary>
    protected virtual TimeSpan PollInterval => TimeSpan.FromSeconds(5);

    /// <summary><c>Views:GenerationRefresh</c>: short, so rebuilds in tests wait little for replicas to notice.</summary>
    protected static TimeSpan GenerationRefresh => TimeSpan.FromMilliseconds(100);

    /// <summary><c>APP_API_TOKEN</c> of the sidecar (which presents it) and the app (which requires it); null: none.</summary>
    public virtual string? AppApiToken => null;

    /// <summary>More app settings, for hosts that need them.</summary>
    protected virtual IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>More resources for the sidecar (by default none beyond the two components).</summary>
    protected virtual void AddResources(Resources resources)
    {
    }

    /// <summary>Extra environment for the sidecar process (e.g. the emulator's app registry for service invocation).</summary>
    protected virtual IDictionary<string, string> SidecarEnvironment { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    public virtual async ValueTask InitializeAsync()
    {
        var readDb = await database.NewDatabaseAsync();
        redis = await RedisServer.StartAsync();
        resources = new Resources()
            .PostgresState(DaprNames.ViewStore, readDb)
            .RedisPubSub(DaprNames.PubSub, redis.ConnectionString, new Dictionary<string, string> { ["concurrency"] = "500", ["queueDepth"] = "500" }); // as components/pubsub.yaml
        AddResources(resources);

        var appPort = FreePort.Next();
        sidecar = await Sidecar.StartAsync(new SidecarOptions
        {
            AppId = DaprNames.QueryService,
            AppPort = appPort,
            ResourcesPaths = [resources.Path],
            ApiToken = ApiToken,
            AppApiToken = AppApiToken,
            LogLevel = "warn",
            Environment = SidecarEnvironment,
        });

        factory = new QueryServiceFactory(web =>
        {
            web.UseEnvironment("Production");
            web.UseSetting("DAPR_HTTP_ENDPOINT", sidecar.HttpEndpoint);
            web.UseSetting("DAPR_GRPC_ENDPOINT", sidecar.GrpcEndpoint);
            web.UseSetting("DAPR_API_TOKEN", ApiToken);
            if (AppApiToken is { } appApiToken)
            {
                web.UseSetting("APP_API_TOKEN", appApiToken);
            }

            web.UseSetting("Consistency:MaxWait", MaxWait.ToString("c", CultureInfo.InvariantCulture));
            web.UseSetting("Consistency:PollInterval", PollInterval.ToString("c", CultureInfo.InvariantCulture));
            web.UseSetting("Views:GenerationRefresh", GenerationRefresh.ToString("c", CultureInfo.InvariantCulture));
            foreach (var (key, value) in Settings)
            {
                web.UseSetting(key, value);
            }

            web.UseSetting("Logging:LogLevel:Default", "Warning");
            web.ConfigureLogging(logging => logging.ClearProviders());
        });
        factory.UseKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, appPort)); // not UseKestrel(port): it races the app starting Kestrel (dotnet/aspnetcore#67714)
        factory.StartServer();
        Client = new HttpClient { BaseAddress = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{appPort}")) };
        Publisher = new DaprClientBuilder()
            .UseGrpcEndpoint(sidecar.GrpcEndpoint)
            .UseHttpEndpoint(sidecar.HttpEndpoint)
            .UseDaprApiToken(ApiToken)
            .Build();
        await WaitUntilSubscribedAsync();
    }

    /// <summary>Publishes as the relay does: the envelope's JSON as <c>application/json</c>, CloudEvent id = event id.</summary>
    public Task PublishAsync(EventEnvelope envelope, string topic = Topics.Products) =>
        Publisher.PublishByteEventAsync(
            DaprNames.PubSub,
            topic,
            ProductEvents.Json(envelope),
            "application/json",
            new Dictionary<string, string> { ["cloudevent.id"] = envelope.EventId.ToString() },
            TestContext.Current.CancellationToken);

    /// <summary>
    /// Waits until the view of <paramref name="id"/> has reached <paramref name="version"/>: wakes on each save of this
    /// replica (<see cref="ViewChanges"/>) and re-reads the store; gives up after <paramref name="timeout"/>.
    /// </summary>
    internal async Task<ProductView?> ViewAtVersionAsync(Guid id, long version, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using var watch = Changes.Start(id);
            var stored = await Store.GetAsync(id, TestContext.Current.CancellationToken);
            if (stored is not null && stored.View.Version >= version || clock.Elapsed > timeout)
            {
                return stored?.View;
            }

            await Task.WhenAny(watch.Changed, Task.Delay(TimeSpan.FromMilliseconds(250), TestContext.Current.CancellationToken));
        }
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

    public virtual async ValueTask DisposeAsync()
    {
        Client.Dispose();
        Publisher?.Dispose();
        if (factory is not null)
        {
            await factory.DisposeAsync();
        }

        if (sidecar is not null)
        {
            await sidecar.DisposeAsync();
        }

        if (redis is not null)
        {
            await redis.DisposeAsync();
        }

        resources?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>The sidecar reads <c>/dapr/subscribe</c> once the app listens, then reports ready on <c>/v1.0/healthz</c>.</summary>
    private async Task WaitUntilSubscribedAsync()
    {
        using var http = new HttpClient { BaseAddress = new Uri(Sidecar.HttpEndpoint) };
        http.DefaultRequestHeaders.Add("dapr-api-token", ApiToken);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            try
            {
                var metadata = await http.GetStringAsync(new Uri("/v1.0/metadata", UriKind.Relative));
                if (metadata.Contains(Topics.DeadLetterOf(Topics.Products), StringComparison.Ordinal))
                {
                    using var health = await http.GetAsync(new Uri("/v1.0/healthz", UriKind.Relative));
                    if (health.IsSuccessStatusCode)
                    {
                        return;
                    }
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"The sidecar never subscribed to {Topics.Products}.\n{Sidecar.LogTail()}");
    }

    private sealed class QueryServiceFactory(Action<IWebHostBuilder> configure) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder) => configure(builder);
    }
}

/// <summary>The query service with an app API token: its sidecar presents it, the app requires it on Dapr's routes.</summary>
public sealed class AppTokenQueryServiceHost(ReadDatabaseServer server) : QueryServiceHost(server)
{
    public const string Token = "query-app-test-token";

    public override string? AppApiToken => Token;
}

/// <summary>The query service with a short consistency wait, for reads that must give up.</summary>
public sealed class ImpatientQueryServiceHost(ReadDatabaseServer server) : QueryServiceHost(server)
{
    protected override TimeSpan MaxWait => TimeSpan.FromMilliseconds(300);

    protected override TimeSpan PollInterval => TimeSpan.FromMilliseconds(100);
}

/// <summary>
/// The query service on a PostgreSQL server of its own (so a test can stop it) with the repository's
/// <c>components/resiliency.yaml</c> in its sidecar, as deployed.
/// </summary>
public sealed class ResilientQueryServiceHost() : QueryServiceHost(OwnServer)
{
    private static ReadDatabaseServer OwnServer => new();

    public PostgresServer ReadServer => Database.Postgres;

    public override async ValueTask InitializeAsync()
    {
        await Database.InitializeAsync();
        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Database.DisposeAsync();
    }

    protected override void AddResources(Resources resources) =>
        resources.Add(File.ReadAllText(Path.Combine(RepositoryPaths.Root, "components", "resiliency.yaml")));
}
