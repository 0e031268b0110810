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
// dotnet run -c Release --project tests/CqrsDapr.QueryService.ProjectionBenchmarks [-- --quick] [--concurrency N]
internal static class LiveProjectionBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var quick = args.Contains("--quick");
        var (events, products) = quick ? (2_000, 100) : (20_000, 1_000);

        // pubsub.redis delivers with "concurrency" workers (Dapr's default 10); --concurrency N tries another value.
        var concurrency = args.SkipWhile(a => a != "--concurrency").Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).FirstOrDefault(10);
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        Console.WriteLine($"CqrsDapr live projection benchmark: {events} events for {products} products, {Environment.ProcessorCount} cores, {DateTime.UtcNow:u}");

        await using var postgres = await PostgresServer.StartAsync();
        await using var redis = await RedisServer.StartAsync();
        var readDb = await postgres.CreateDatabaseAsync("projection_benchmark");
        var resources = Path.Combine(Path.GetTempPath(), "cqrsdapr-bench", "projection-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(resources);
        await File.WriteAllTextAsync(Path.Combine(resources, "components.yaml"), $"""
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: {DaprNames.ViewStore}
            spec:
              type: state.postgresql
              version: v1
              metadata:
              - name: connectionString
                value: "{PostgresConnectionStrings.ToLibpq(readDb)}"
            ---
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: {DaprNames.PubSub}
            spec:
              type: pubsub.redis
              version: v1
              metadata:
              - name: redisHost
                value: "{redis.ConnectionString}"
              - name: redisPassword
                value: ""
              - name: concurrency
                value: "{concurrency}"
            """, Encoding.UTF8);

        var appPort = FreePort.Next();
        await using var sidecar = await Sidecar.StartAsync(new SidecarOptions
        {
            AppId = DaprNames.QueryService,
            AppPort = appPort,
            ResourcesPaths = [resources],
            LogLevel = "warn",
        });
        Console.WriteLine($"Sidecar: {sidecar.Kind} (pubsub.redis concurrency {concurrency}); Redis :{redis.Port}; PostgreSQL :{postgres.Port}");

        await using var app = new QueryServiceFactory(sidecar);
        app.UseKestrel(appPort);
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
        var envelopes = ids.SelectMany(id => Enumerable.Range(1, perProduct).Select(v => (id, v))).ToArray();
        new Random(42).Shuffle(envelopes);

        using var publisher = new DaprClientBuilder().UseGrpcEndpoint(sidecar.GrpcEndpoint).UseHttpEndpoint(sidecar.HttpEndpoint).Build();
        var clock = Stopwatch.StartNew();
        foreach (var chunk in envelopes.Chunk(500))
        {
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
        var behind = 0;
        foreach (var id in ids)
        {
            if ((await store.GetAsync(id, CancellationToken.None))?.View.Version != perProduct)
            {
                behind++;
            }
        }

        var sorted = lags.Order().ToArray();
        double Percentile(double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
        Console.WriteLine($"published {events} in {published.TotalSeconds:F2}s ({events / published.TotalSeconds:F0}/s)");
        Console.WriteLine($"all {events} handled after {drained.TotalSeconds:F2}s: {events / drained.TotalSeconds:F0} events/s end to end (target >= 5000/s)");
        Console.WriteLine($"applied {sorted.Length}, ignored as stale {events - sorted.Length}; views not at final version: {behind}");
        Console.WriteLine($"lag (occurredAt -> saved) p50 {Percentile(0.50) * 1000:F0} ms, p95 {Percentile(0.95) * 1000:F0} ms, p99 {Percentile(0.99) * 1000:F0} ms, max {Percentile(1) * 1000:F0} ms");
        Directory.Delete(resources, recursive: true);
        return behind == 0 ? 0 : 1;
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
