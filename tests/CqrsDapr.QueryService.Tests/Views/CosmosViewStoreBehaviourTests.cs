using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using CqrsDapr.Contracts.Products;
using CqrsDapr.QueryService.Products;
using CqrsDapr.QueryService.Tests.Infrastructure;
using CqrsDapr.QueryService.Views;
using CqrsDapr.QueryService.Views.Cosmos;
using CqrsDapr.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CqrsDapr.QueryService.Tests.Views;

/// <summary>What the Cosmos DB view store does beyond the shared contract: throttling, diagnostics, start-up, TLS, partitioning, injection.</summary>
public sealed class CosmosViewStoreBehaviourTests(CosmosViewStoreServer cosmos) : IClassFixture<CosmosViewStoreServer>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ProductView AView(string category, string name = "Desk") => ProductViewKeys.WithKeys(new ProductView
    {
        Id = Guid.CreateVersion7(),
        Sku = "SKU-1",
        Name = name,
        Category = category,
        Price = new Money(10m, "EUR"),
        Stock = 1,
        Version = 1,
        CreatedAt = DateTimeOffset.UnixEpoch,
        UpdatedAt = DateTimeOffset.UnixEpoch,
    });

    private async Task<CosmosViewStoreOptions> NewContainerAsync(int buckets = 3)
    {
        var options = cosmos.OptionsFor(buckets, "views-" + Guid.NewGuid().ToString("N"));
        await cosmos.CreateContainerAsync(options);
        return options;
    }

    [Fact]
    public async Task A_throttled_read_is_retried_after_the_servers_retry_after_and_then_succeeds()
    {
        var options = await NewContainerAsync();
        var view = AView("throttle");
        Assert.True(await Store(options).TrySaveAsync(view, null, Ct));
        options.MaxRetryAttemptsOnThrottling = 3;
        var throttle = new Throttle(times: 2, retryAfter: TimeSpan.FromMilliseconds(300));
        using var client = CosmosViews.CreateClient(options, inner => throttle.With(inner));

        var clock = Stopwatch.StartNew();
        var read = await new CosmosProductViewStore(client.GetContainer(options.Database, options.Container), options, cosmos.Observer).GetAsync(view.Id, Ct);

        Assert.Equal(view, read!.View);
        Assert.Equal(2, throttle.Answered);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(600), $"retried after {clock.Elapsed.TotalMilliseconds} ms, sooner than the two retry-afters");
    }

    [Fact]
    public async Task Throttling_beyond_the_retries_surfaces_as_an_unavailable_store()
    {
        var options = await NewContainerAsync();
        options.MaxRetryAttemptsOnThrottling = 1;
        var throttle = new Throttle(times: 10, retryAfter: TimeSpan.FromMilliseconds(10));
        using var client = CosmosViews.CreateClient(options, inner => throttle.With(inner));
        var store = new CosmosProductViewStore(client.GetContainer(options.Database, options.Container), options, cosmos.Observer);

        var error = await Assert.ThrowsAsync<ViewStoreUnavailableException>(() => store.GetAsync(Guid.NewGuid(), Ct));

        Assert.Contains("429", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, throttle.Answered); // the first try and one retry
    }

    [Fact]
    public async Task Calls_slower_than_the_threshold_are_logged_with_their_diagnostics_and_faster_ones_are_not()
    {
        var options = await NewContainerAsync();
        var slowLog = new ListLogger();
        var fastLog = new ListLogger();
        var always = Observer(TimeSpan.Zero, slowLog);
        var never = Observer(TimeSpan.FromMinutes(5), fastLog);

        Assert.Null(await new CosmosProductViewStore(cosmos.Container(options), options, always).GetAsync(Guid.NewGuid(), Ct));
        Assert.Null(await new CosmosProductViewStore(cosmos.Container(options), options, never).GetAsync(Guid.NewGuid(), Ct));

        var entry = Assert.Single(slowLog.Entries);
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Contains("Cosmos DB read took", entry.Message, StringComparison.Ordinal);
        Assert.Contains("\"name\":\"ReadItemStreamAsync\"", entry.Message, StringComparison.Ordinal); // the SDK's diagnostics JSON
        Assert.Empty(fastLog.Entries);
    }

    [Fact]
    public async Task Each_call_records_its_request_charge()
    {
        var options = await NewContainerAsync();
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        var observer = new CosmosCallObserver(Options.Create(options), NullLogger<CosmosCallObserver>.Instance, meters);
        var charges = new List<(double Value, string? Operation)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // Only this observer's meter: other tests' observers, running meanwhile, have meters of the same name.
            if (instrument.Meter.Name == CosmosCallObserver.MeterName && ReferenceEquals(instrument.Meter.Scope, meters))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            lock (charges)
            {
                charges.Add((value, tags.ToArray().Single(t => t.Key == "operation").Value as string));
            }
        });
        listener.Start();

        var store = new CosmosProductViewStore(cosmos.Container(options), options, observer);
        Assert.True(await store.TrySaveAsync(AView("charge"), null, Ct));

        var (value, operation) = Assert.Single(charges);
        Assert.Equal("create", operation);
        Assert.True(value > 0);
    }

    [Fact]
    public async Task A_category_is_a_query_parameter_never_query_text()
    {
        var options = await NewContainerAsync();
        var store = Store(options);
        var plain = AView("books");
        Assert.True(await store.TrySaveAsync(plain, null, Ct));
        var hostile = "x' OR c.category = 'books"; // would list every book if it were pasted into the query

        var page = await store.QueryAsync(new ProductQuery(hostile, null, null, ProductSort.Name, 10, null), Ct);

        Assert.Empty(page.Items);
        Assert.Single((await store.QueryAsync(new ProductQuery("books", null, null, ProductSort.Name, 10, null), Ct)).Items);
    }

    [Fact]
    public async Task Start_up_without_permission_to_create_fails_naming_the_missing_container()
    {
        var options = cosmos.OptionsFor(container: "never-created");
        options.CreateIfNotExists = false;

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            new CosmosContainerSetup(cosmos.Client, Options.Create(options), NullLogger<CosmosContainerSetup>.Instance).StartAsync(Ct));

        Assert.Contains("'never-created'", error.Message, StringComparison.Ordinal);
        Assert.Contains("CreateIfNotExists", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Start_up_refuses_a_container_with_another_partition_key(bool createIfNotExists)
    {
        var options = cosmos.OptionsFor(container: "wrong-key-" + Guid.NewGuid().ToString("N"));
        options.CreateIfNotExists = createIfNotExists;
        await cosmos.Client.GetDatabase(options.Database).CreateContainerAsync(new Microsoft.Azure.Cosmos.ContainerProperties(options.Container, "/id"), cancellationToken: Ct);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            new CosmosContainerSetup(cosmos.Client, Options.Create(options), NullLogger<CosmosContainerSetup>.Instance).StartAsync(Ct));

        Assert.Contains("/pk", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_client_trusts_only_the_pinned_certificate()
    {
        using var other = TempCertificate();
        var options = cosmos.OptionsFor();
        options.ServerCertificatePath = other.CertificatePath;
        options.MaxRetryAttemptsOnThrottling = 0;
        using var client = CosmosViews.CreateClient(options);

        var error = await Record.ExceptionAsync(() => client.ReadAccountAsync());

        Assert.NotNull(error); // the stand-in's certificate is not the pinned one: no connection
        Assert.IsNotType<Microsoft.Azure.Cosmos.CosmosException>(error, exactMatch: false);
    }

    [Fact]
    public async Task Each_call_is_a_span_of_the_sdks_activity_source_with_its_database_and_container()
    {
        var options = await NewContainerAsync();
        var spans = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == CosmosViews.ActivitySource,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                lock (spans)
                {
                    spans.Add(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        using var client = CosmosViews.CreateClient(options);
        var store = new CosmosProductViewStore(client.GetContainer(options.Database, options.Container), options, cosmos.Observer);

        Assert.Null(await store.GetAsync(Guid.NewGuid(), Ct));

        Activity[] seen;
        lock (spans)
        {
            seen = [.. spans]; // other tests' Cosmos calls are spans of the same source, arriving meanwhile
        }

        var span = Assert.Single(seen, s => (s.GetTagItem("db.cosmosdb.container") ?? s.GetTagItem("db.collection.name")) as string == options.Container);
        Assert.Equal(options.Database, (span.GetTagItem("db.name") ?? span.GetTagItem("db.namespace")) as string);
    }

    [Fact]
    public void Preferred_regions_come_from_configuration()
    {
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ViewStore:Cosmos:Endpoint"] = "https://acct.documents.azure.com:443/",
            ["ViewStore:Cosmos:AccountKey"] = CosmosDbServer.AccountKey,
            ["ViewStore:Cosmos:PreferredRegions:0"] = "West Europe",
            ["ViewStore:Cosmos:PreferredRegions:1"] = "North Europe",
        }).Build();
        var options = configuration.GetSection(CosmosViewStoreOptions.Section).Get<CosmosViewStoreOptions>()!;

        using var client = CosmosViews.CreateClient(options);

        Assert.Equal(["West Europe", "North Europe"], client.ClientOptions.ApplicationPreferredRegions);
    }

    [Fact]
    public void A_views_bucket_depends_only_on_its_id_and_the_bucket_count()
    {
        var id = Guid.Parse("019ac3f2-7b1e-7c4d-9a2b-3c4d5e6f7081");

        // Fixed forever: a view's partition key must not change between releases.
        Assert.Equal(0x9a2b3c4d5e6f7081UL % 4, (ulong)CosmosProductViewStore.BucketOf(id, 4));
        Assert.Equal(0, CosmosProductViewStore.BucketOf(id, 1));

        var counts = new int[4];
        for (var i = 0; i < 4_000; i++)
        {
            counts[CosmosProductViewStore.BucketOf(Guid.CreateVersion7(), 4)]++;
        }

        Assert.All(counts, count => Assert.InRange(count, 800, 1_200)); // version 7 ids spread evenly
    }

    private CosmosProductViewStore Store(CosmosViewStoreOptions options) => new(cosmos.Container(options), options, cosmos.Observer);

    private static CosmosCallObserver Observer(TimeSpan threshold, ILogger<CosmosCallObserver> logger)
    {
        var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        return new CosmosCallObserver(Options.Create(new CosmosViewStoreOptions { DiagnosticsThreshold = threshold }), logger, services.GetRequiredService<IMeterFactory>());
    }

    private static TempCertificateFiles TempCertificate()
    {
        var directory = Directory.CreateTempSubdirectory("cqrsdapr-cert-");
        var files = new TempCertificateFiles(directory);
        CosmosDbServer.WriteSelfSignedCertificate(files.CertificatePath, Path.Combine(directory.FullName, "key.pem"));
        return files;
    }

    private sealed class TempCertificateFiles(DirectoryInfo directory) : IDisposable
    {
        public string CertificatePath { get; } = Path.Combine(directory.FullName, "cert.pem");

        public void Dispose() => directory.Delete(recursive: true);
    }

    /// <summary>Answers the first <paramref name="times"/> document reads with 429 and the given retry-after, as a throttled account does.</summary>
    private sealed class Throttle(int times, TimeSpan retryAfter)
    {
        private readonly int times = times;
        private readonly TimeSpan retryAfter = retryAfter;
        private int reads;
        private int answered;

        /// <summary>How many reads were answered 429.</summary>
        public int Answered => answered;

        public HttpMessageHandler With(HttpMessageHandler inner) => new Handler(this) { InnerHandler = inner };

        private sealed class Handler(Throttle throttle) : DelegatingHandler
        {
            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                var isDocumentRead = request.Method == HttpMethod.Get && request.RequestUri!.AbsolutePath.Contains("/docs/", StringComparison.Ordinal);
                if (isDocumentRead && Interlocked.Increment(ref throttle.reads) <= throttle.times)
                {
                    Interlocked.Increment(ref throttle.answered);
                    var response = new HttpResponseMessage((HttpStatusCode)429) { RequestMessage = request, Content = new StringContent("""{"code":"429","message":"Request rate is large"}""") };
                    response.Headers.Add("x-ms-retry-after-ms", ((int)throttle.retryAfter.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture));
                    response.Headers.Add("x-ms-substatus", "3200");
                    return Task.FromResult(response);
                }

                return base.SendAsync(request, cancellationToken);
            }
        }
    }

    private sealed class ListLogger : ILogger<CosmosCallObserver>
    {
        public List<(LogLevel Level, string Message)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            lock (Entries)
            {
                Entries.Add((logLevel, formatter(state, exception)));
            }
        }
    }
}
