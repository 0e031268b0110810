using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using CqrsDapr.Contracts;
using CqrsDapr.Contracts.Products;
using CqrsDapr.QueryService.Projection;
using CqrsDapr.QueryService.Views;
using CqrsDapr.TestSupport;
using Dapr.Client;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CqrsDapr.QueryService.ProjectionBenchmarks;

// Live projection throughput: bulk-publish N envelopes for P products (shuffled, so out of order) through a sidecar
// with pubsub.redis, and time until every view has reached its final version in PostgreSQL (viewstore).
// dotnet run -c Release --project tests/CqrsDapr.QueryService.ProjectionBenchmarks [-- --quick]
// Variants in one run, each on its own read database, Redis and sidecar: one event per delivery with Dapr's default
// concurrency (10), and bulk subscribe (batches of up to 100 within 5 ms, concurrency 100, as components/pubsub.yaml;
// and 500).
internal static class LiveProjectionBenchmark
{
    private sealed record Variant(string Name, bool Bulk, int Concurrency, int MaxMessages = 100, int Rate = 0);

    private sealed record Result(Variant Variant, double PublishRate, double Rate, int Applied, int Behind, double P50, double P95, double P99);

    public static async Task<int> RunAsync(string[] args)
    {
        var quick = args.Contains("--quick");
        var (events, products) = quick ? (4_000, 200) : (20_000, 1_000);
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        Console.WriteLine($"CqrsDapr live projection benchmark: {events} events for {products} products, shuffled, {Environment.ProcessorCount} cores, {DateTime.UtcNow:u}");

        await using var postgres = await PostgresServer.StartAsync();
        Variant[] variants =
        [
            new("single delivery, concurrency 10", false, 10),
            new("bulk 100 / 5 ms, concurrency 100", true, 100),
            new("bulk 500 / 5 ms, concurrency 500", true, 500, 500),
            new("single, concurrency 10, at 1000/s", false, 10, Rate: 1000),
            new("bulk 500 / 5 ms, at 1000/s", true, 500, 500, Rate: 1000),
        ];
        var results = new List<Result>();
        foreach (var variant in variants)
        {
            results.Add(await RunVariantAsync(variant, postgres, events, products));
        }

        Console.WriteLine();
        Console.WriteLine("variant                              | events/s end to end | lag p50 / p95 / p99 (ms)  | applied | views behind");
        foreach (var r in results)
        {
            Console.WriteLine($"{r.Variant.Name,-36} | {r.Rate,19:F0} | {r.P50,6:F0} / {r.P95,6:F0} / {r.P99,6:F0}  | {r.Applied,7} | {r.Behind}");
        }

        Console.WriteLine("target >= 5000 events/s. As fast as possible: events are published in bulk, shuffled, and the lag includes the time");
        Console.WriteLine("they waited behind the backlog. At 1000/s: versions in order, published every 10 ms, so the lag is the projection's own.");
        return results.All(r => r.Behind == 0) ? 0 : 1;
    }

    private static async Task<Result> RunVariantAsync(Variant variant, PostgresServer postgres, int events, int products)
    {
        await using var redis = await RedisServer.StartAsync();
        var readDb = await postgres.CreateDatabaseAsync(string.Create(CultureInfo.InvariantCulture, $"projection_{(variant.Bulk ? "bulk" : "single")}_{variant.MaxMessages}"));
        using var resources = new Resources()
            .PostgresState(DaprNames.ViewStore, readDb)
            .RedisPubSub(DaprNames.PubSub, redis.ConnectionString, new Dictionary<string, string>
            {
                ["concurrency"] = variant.Concurrency.ToString(CultureInfo.InvariantCulture),
                ["queueDepth"] = Math.Max(100, variant.Concurrency).ToString(CultureInfo.InvariantCulture),
            });

        var appPort = FreePort.Next();
        await using var sidecar = await Sidecar.StartAsync(new SidecarOptions
        {
            AppId = DaprNames.QueryService,
            AppPort = appPort,
            ResourcesPaths = [resources.Path],
            LogLevel = "warn",
        });
        Console.WriteLine($"{variant.Name}: sidecar {sidecar.Kind}; Redis :{redis.Port}; PostgreSQL :{postgres.Port}");

        await using var app = new QueryServiceFactory(sidecar, new Dictionary<string, string>
        {
            ["Projection:BulkSubscribe:Enabled"] = variant.Bulk ? "true" : "false",
            ["Projection:BulkSubscribe:MaxMessagesCount"] = variant.MaxMessages.ToString(CultureInfo.InvariantCulture),
        });
        app.UseKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, appPort)); // not UseKestrel(port): it races the app starting Kestrel (dotnet/aspnetcore#67714)
        app.StartServer();
        await WaitUntilSubscribedAsync(sidecar);

        // Count every handled delivery and record the lag histogram, from this app's meter only.
        var meterScope = app.Services.GetRequiredService<IMeterFactory>();
        var handled = 0L;
        var lags = new ConcurrentQueue<double>();
        var allHandled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == ProjectionMetrics.MeterName && instrument.Meter.Scope == meterScope)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            if (instrument.Name == ProjectionMetrics.EventsName && Interlocked.Add(ref handled, value) >= events)
            {
                allHandled.TrySetResult();
            }
        });
        listener.SetMeasurementEventCallback<double>((_, value, _, _) => lags.Enqueue(value));
        listener.Start();

        var ids = Enumerable.Range(0, products).Select(_ => Guid.NewGuid()).ToArray();
        var perProduct = events / products;
        var envelopes = variant.Rate > 0
            ? Enumerable.Range(1, perProduct).SelectMany(v => ids.Select(id => (id, v))).ToArray() // a fixed arrival rate, in order
            : ids.SelectMany(id => Enumerable.Range(1, perProduct).Select(v => (id, v))).ToArray();
        if (variant.Rate == 0)
        {
            new Random(42).Shuffle(envelopes);
        }

        using var publisher = new DaprClientBuilder().UseGrpcEndpoint(sidecar.GrpcEndpoint).UseHttpEndpoint(sidecar.HttpEndpoint).Build();
        using var tick = variant.Rate > 0 ? new PeriodicTimer(TimeSpan.FromMilliseconds(10)) : null;
        var clock = Stopwatch.StartNew();
        foreach (var chunk in envelopes.Chunk(variant.Rate > 0 ? Math.Max(1, variant.Rate / 100) : 500))
        {
            if (tick is not null)
            {
                await tick.WaitForNextTickAsync();
            }

            var now = DateTimeOffset.UtcNow;
            var batch = chunk.Select(e => Envelope(e.id, e.v, now)).ToList();
            var response = await publisher.BulkPublishEventAsync(DaprNames.PubSub, Topics.Products, batch);
            if (response.FailedEntries.Count > 0)
            {
                throw new InvalidOperationException($"{response.FailedEntries.Count} entries failed: {response.FailedEntries[0].ErrorMessage}");
            }
        }

        var published = clock.Elapsed;
        await allHandled.Task.WaitAsync(TimeSpan.FromMinutes(10));
        var drained = clock.Elapsed;

        // Every view must be at its final version: otherwise the figure would be meaningless.
        var store = app.Services.GetRequiredService<ViewGenerations>().Active;
        var final = await store.GetManyAsync(ids, CancellationToken.None);
        var behind = ids.Count(id => !final.TryGetValue(id, out var v) || v.View.Version != perProduct);

        var sorted = lags.Order().ToArray();
        double Percentile(double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)] * 1000;
        var result = new Result(variant, events / published.TotalSeconds, events / drained.TotalSeconds, sorted.Length, behind, Percentile(0.50), Percentile(0.95), Percentile(0.99));
        Console.WriteLine($"  published {events} in {published.TotalSeconds:F2}s ({result.PublishRate:F0}/s); all handled after {drained.TotalSeconds:F2}s: {result.Rate:F0} events/s; " +
            $"applied {sorted.Length}, ignored as stale {events - sorted.Length}; views behind {behind}");
        return result;
    }

    private static EventEnvelope Envelope(Guid id, int version, DateTimeOffset at)
    {
        var snapshot = new ProductSnapshot(id, "SKU-" + id.ToString("N")[..8], $"Product {version}", null, "bench", new Money(version, "EUR"), version, version, DateTimeOffset.UnixEpoch);
        JsonElement data = version == 1
            ? JsonSerializer.SerializeToElement(new ProductCreated(snapshot), ContractsJson.Default.ProductCreated)
            : JsonSerializer.SerializeToElement(new ProductStockAdjusted(snapshot, 1, "bench"), ContractsJson.Default.ProductStockAdjusted);
        return new EventEnvelope
        {
            EventId = Guid.NewGuid(),
            EventType = version == 1 ? ProductCreated.EventType : ProductStockAdjusted.EventType,
            SchemaVersion = 1,
            AggregateType = ProductAggregate.Name,
            AggregateId = id.ToString("D"),
            AggregateVersion = version,
            Sequence = version,
            OccurredAt = at,
            Data = data,
        };
    }

    private static async Task WaitUntilSubscribedAsync(Sidecar sidecar)
    {
        using var http = new HttpClient { BaseAddress = new Uri(sidecar.HttpEndpoint) };
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            try
            {
                using var health = await http.GetAsync(new Uri("/v1.0/healthz", UriKind.Relative));
                if (health.IsSuccessStatusCode && (await http.GetStringAsync(new Uri("/v1.0/metadata", UriKind.Relative))).Contains(Topics.Products, StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("The sidecar never subscribed.\n" + sidecar.LogTail());
    }
}
