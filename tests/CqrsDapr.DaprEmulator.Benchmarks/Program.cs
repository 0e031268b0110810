using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using CqrsDapr.DaprEmulator.Benchmarks;
using CqrsDapr.TestSupport;
using Dapr.Client;

// Measures what the sidecar costs: publish -> delivery latency and throughput on pubsub.redis, state get/save latency
// on state.postgresql v1 and state.in-memory, start-up time. Variants are compared side by side in one run.
var quick = args.Contains("--quick");
var subscribeOnly = args.Contains("--subscribe-only");
var scale = quick ? 0.2 : 1.0;
int Scaled(int n) => Math.Max(1, (int)(n * scale));

Console.WriteLine($"CqrsDapr emulator benchmark — {Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
await using var redis = await RedisServer.StartAsync();
if (subscribeOnly)
{
    await SubscribeModesAsync(redis, Scaled);
    return 0;
}

await using var postgres = await PostgresServer.StartAsync();
var database = await postgres.CreateDatabaseAsync("bench");
using var resources = new ResourceFolder()
    .Add("pubsub", "pubsub.redis", ("redisHost", redis.ConnectionString), ("redisPassword", ""), ("processingTimeout", "60s"))
    .Add("statestore", "state.postgresql", ("connectionString", PostgresConnectionStrings.ToLibpq(database)))
    .Add("memstore", "state.in-memory");

using var inMemoryOnly = new ResourceFolder()
    .Add("pubsub", "pubsub.in-memory")
    .Add("memstore", "state.in-memory");

// Start-up: process start until /v1.0/healthz/outbound answers 204, with in-memory components and with real servers.
foreach (var (variant, folder) in new[] { ("in-memory components", inMemoryOnly), ("pubsub.redis + state.postgresql", resources) })
{
    var startups = new List<double>();
    for (var i = 0; i < 5; i++)
    {
        var started = Stopwatch.GetTimestamp();
        await using var probe = await Sidecar.StartAsync(new SidecarOptions { AppId = "bench-startup", ResourcesPaths = [folder.Path], LogLevel = "warn" });
        startups.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    Report.Line($"sidecar start-up, {variant} (ms)", Report.Percentiles(startups));
}

var receiver = new Receiver();
var appPort = FreePort.Next();
await using var sidecar = await Sidecar.StartAsync(new SidecarOptions { AppId = "bench", AppPort = appPort, ResourcesPaths = [resources.Path], LogLevel = "warn" });
await using var app = await receiver.StartAsync(appPort, sidecar);
using var client = new DaprClientBuilder().UseGrpcEndpoint(sidecar.GrpcEndpoint).UseHttpEndpoint(sidecar.HttpEndpoint).Build();
await WaitForReadyAsync(sidecar);
Console.WriteLine($"sidecar kind: {sidecar.Kind}");

// --- publish -> delivery latency at a low, fixed arrival rate (no queueing): one event every 2 ms.
await Warmup(client, receiver, 500);
var lowLoad = await PubSubScenarios.FixedRateAsync(client, receiver, rate: 500, count: Scaled(5000));
Report.Line("publish->delivery latency, 500 ev/s, pubsub.redis (ms)", Report.Percentiles(lowLoad.Latencies));
Report.Line("publish call latency (gRPC PublishEvent), 500 ev/s (ms)", Report.Percentiles(lowLoad.PublishLatencies));
var pingPong = await PubSubScenarios.OneAtATimeAsync(client, receiver, count: Scaled(3000));
Report.Line("publish->delivery latency, one in flight, back to back (ms)", Report.Percentiles(pingPong));
Report.Line("baseline: direct XADD with StackExchange.Redis, no sidecar (ms)", Report.Percentiles(await PubSubScenarios.RawXaddAsync(redis.ConnectionString, Scaled(3000))));

// --- sustained throughput: as fast as the publisher can go, single publishes vs bulk publishes.
await PubSubScenarios.SaturateAsync(client, receiver, count: Scaled(10_000), inFlight: 64, batch: 1); // JIT and pool warm-up, not reported
var single = await PubSubScenarios.SaturateAsync(client, receiver, count: Scaled(50_000), inFlight: 64, batch: 1);
Report.Throughput("sustained throughput, PublishEvent x64 in flight", single);
var bulk = await PubSubScenarios.SaturateAsync(client, receiver, count: Scaled(100_000), inFlight: 8, batch: 100);
Report.Throughput("sustained throughput, BulkPublishEvent 100/batch x8 in flight", bulk);

await SubscribeModesAsync(redis, Scaled);

// --- state latency over gRPC and HTTP.
foreach (var store in new[] { "statestore", "memstore" })
{
    var save = await StateScenarios.SaveAsync(client, store, Scaled(3000));
    var getGrpc = await StateScenarios.GetAsync(client, store, Scaled(5000));
    var getHttp = await StateScenarios.GetHttpAsync(sidecar.HttpEndpoint, store, Scaled(5000));
    Report.Line($"state save, gRPC, {store} (ms)", Report.Percentiles(save));
    Report.Line($"state get, gRPC, {store} (ms)", Report.Percentiles(getGrpc));
    Report.Line($"state get, HTTP, {store} (ms)", Report.Percentiles(getHttp));
    Report.Line($"state get, gRPC, {store}, spaced 2 ms apart (ms)", Report.Percentiles(await StateScenarios.GetSpacedAsync(client, store, rate: 500, Scaled(2000))));
}

var baseline = await StateScenarios.RawPostgresGetAsync(database, Scaled(5000));
Report.Line("baseline: direct Npgsql point read of the same row, no sidecar (ms)", Report.Percentiles(baseline));
Report.Line("sidecar peak memory (VmHWM)", sidecar.ProcessId is { } pid ? Report.PeakMemory(pid) : "n/a");
return 0;

// Delivery throughput on pubsub.redis, single vs bulk subscribe, each on its own sidecar, app and consumer group.
// Publishing is bulk publish (100/batch x8), so delivery is the bottleneck. A bulk batch holds at most as many messages
// as the component hands over at once (its concurrency, default 10), as with daprd's default bulk subscriber: the
// default configuration caps delivery at ~concurrency messages per maxAwaitDuration, so it runs on fewer events.
static async Task SubscribeModesAsync(RedisServer redis, Func<int, int> scaled)
{
    var variants = new (string Name, string Concurrency, Dapr.AspNetCore.BulkSubscribeTopicOptions? Bulk, int Count)[]
    {
        ("single subscribe, concurrency 10", "10", null, scaled(50_000)),
        ("bulk subscribe 100/1000 ms, concurrency 10 (defaults)", "10", new() { MaxMessagesCount = 100, MaxAwaitDurationMs = 1000 }, scaled(300)),
        ("bulk subscribe 100/1000 ms, concurrency 100", "100", new() { MaxMessagesCount = 100, MaxAwaitDurationMs = 1000 }, scaled(50_000)),
        ("bulk subscribe 500/1000 ms, concurrency 500, queueDepth 500", "500", new() { MaxMessagesCount = 500, MaxAwaitDurationMs = 1000 }, scaled(50_000)),
    };
    foreach (var (name, concurrency, bulk, count) in variants)
    {
        var queueDepth = Math.Max(100, int.Parse(concurrency, CultureInfo.InvariantCulture)).ToString(CultureInfo.InvariantCulture);
        using var folder = new ResourceFolder().Add("pubsub", "pubsub.redis", ("redisHost", redis.ConnectionString), ("redisPassword", ""),
            ("processingTimeout", "60s"), ("concurrency", concurrency), ("queueDepth", queueDepth));
        // A new consumer group reads its stream from 0: start each variant on an empty stream, not on the earlier runs' events.
        await using (var cleanup = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.ConnectionString))
        {
            await cleanup.GetDatabase().KeyDeleteAsync(Receiver.Topic);
        }

        var receiver = new Receiver();
        var port = FreePort.Next();
        var appId = "bench-subscribe-" + Guid.NewGuid().ToString("N")[..8];
        await using var sidecar = await Sidecar.StartAsync(new SidecarOptions { AppId = appId, AppPort = port, ResourcesPaths = [folder.Path], LogLevel = "warn" });
        await using var app = await receiver.StartAsync(port, sidecar, bulk);
        using var client = new DaprClientBuilder().UseGrpcEndpoint(sidecar.GrpcEndpoint).UseHttpEndpoint(sidecar.HttpEndpoint).Build();
        await WaitForReadyAsync(sidecar);
        await PubSubScenarios.SaturateAsync(client, receiver, count: Math.Min(count, 2000), inFlight: 8, batch: 100); // warm-up, not reported
        var result = await PubSubScenarios.SaturateAsync(client, receiver, count: count, inFlight: 8, batch: 100);
        var (batches, largest) = receiver.BatchStats;
        Report.Throughput($"delivery, {name}", result);
        if (bulk is not null)
        {
            Report.Line("  bulk deliveries (mean / largest entries)", string.Create(CultureInfo.InvariantCulture, $"{batches} ({(double)result.Delivered / Math.Max(1, batches):F1} / {largest})"));
        }
    }
}

static async Task Warmup(DaprClient client, Receiver receiver, int count)
{
    await PubSubScenarios.FixedRateAsync(client, receiver, rate: 2000, count: count);
}

static async Task WaitForReadyAsync(Sidecar sidecar)
{
    using var http = new HttpClient();
    var deadline = DateTime.UtcNow.AddSeconds(30);
    while (DateTime.UtcNow < deadline)
    {
        using var response = await http.GetAsync(new Uri(sidecar.HttpEndpoint + "/v1.0/healthz"));
        if (response.StatusCode == HttpStatusCode.NoContent)
        {
            return;
        }

        await Task.Delay(20);
    }

    throw new TimeoutException("sidecar not ready:\n" + sidecar.LogTail());
}
