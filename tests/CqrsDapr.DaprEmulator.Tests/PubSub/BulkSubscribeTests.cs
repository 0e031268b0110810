using System.Diagnostics;
using System.Text.Json;
using CqrsDapr.DaprEmulator.Tests.Infrastructure;
using Dapr;
using Dapr.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using static CqrsDapr.DaprEmulator.Tests.PubSub.PubSubTestKit;

namespace CqrsDapr.DaprEmulator.Tests.PubSub;

/// <summary>
/// Bulk subscribe (contract §2.7): batching, the bulk envelope, the per-entry answer table, dead letters and
/// redelivery, with apps that declare it the way Dapr.AspNetCore does on a minimal-API endpoint
/// (<c>.WithTopic(...).WithBulkSubscribe(new BulkSubscribeTopicOptions { ... })</c>), on pubsub.redis and pubsub.in-memory.
/// </summary>
public sealed class BulkSubscribeTests(Backends backends)
{
    /// <summary>
    /// Component redelivery within a few seconds, yet slow enough that an entry waiting in a batch (pending in Redis
    /// until the batch is answered) is not reclaimed and delivered twice, which daprd would do too, even on a loaded machine.
    /// </summary>
    private static readonly Dictionary<string, string> QuickRedelivery = new() { ["processingTimeout"] = "3s", ["redeliverInterval"] = "250ms" };

    private static readonly string[] RetryIds = ["ok", "retry", "missing"];
    private static readonly string[] DropIds = ["ok", "drop", "retry"];
    private static readonly string[] PairIds = ["a", "b"];

    public static TheoryData<string> Components => ["redis", "memory"];

    [Theory]
    [MemberData(nameof(Components))]
    public async Task Messages_arrive_in_batches_of_at_most_maxMessagesCount_in_the_bulk_envelope(string component)
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = UniqueTopic("bulk-batches");
        var appId = "bulk-batches-" + component;
        using var resources = PubSub(component);
        await using var host = await DaprTestHost.StartAsync(appId, resources, configureApp: app =>
            app.MapPost("orders", (BulkSubscribeMessage<JsonElement> message) => Answer(message, _ => BulkSubscribeAppResponseStatus.SUCCESS))
                .WithTopic("pubsub", topic)
                .WithBulkSubscribe(new BulkSubscribeTopicOptions { TopicName = topic, MaxMessagesCount = 5, MaxAwaitDurationMs = 200 }));
        await host.WaitForSidecarReadyAsync(Patience);

        // What the SDK told the sidecar: the subscription carries bulkSubscribe.
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.AppPort}") };
        var subscribe = JsonDocument.Parse(await http.GetStringAsync(new Uri("/dapr/subscribe", UriKind.Relative), ct)).RootElement;
        var declared = subscribe.EnumerateArray().Single(s => Text(s, "topic") == topic).GetProperty("bulkSubscribe");
        Assert.True(declared.GetProperty("enabled").GetBoolean());
        Assert.Equal(5, declared.GetProperty("maxMessagesCount").GetInt32());
        Assert.Equal(200, declared.GetProperty("maxAwaitDurationMs").GetInt32());

        var orders = Enumerable.Range(1, 12).Select(i => new Order($"b-{i}", i)).ToList();
        await Task.WhenAll(orders.Select(o => host.Client.PublishEventAsync("pubsub", topic, o, ct)));

        var batches = await WaitForEntriesAsync(host, "/orders", orders.Count);
        Assert.All(batches, b => Assert.InRange(b.GetProperty("entries").GetArrayLength(), 1, 5));
        Assert.Equal(orders.Select(o => o.Id).Order(), batches.SelectMany(OrderIds).Order());

        var request = host.App!.On("/orders")[0];
        Assert.Equal("application/json", request.ContentType);
        Assert.Equal("pubsub", request.Headers["pubsubname"]);
        var envelope = Json(request);
        Assert.Equal("com.dapr.event.sent.bulk", Text(envelope, "type"));
        Assert.Equal(topic, Text(envelope, "topic"));
        Assert.Equal("pubsub", Text(envelope, "pubsubname"));
        Assert.Equal("pubsub", envelope.GetProperty("metadata").GetProperty("pubsubName").GetString());
        Assert.True(Guid.TryParse(Text(envelope, "id"), out _));
        var entry = envelope.GetProperty("entries")[0];
        Assert.True(Guid.TryParse(Text(entry, "entryId"), out _));
        Assert.Equal("application/cloudevents+json", Text(entry, "contentType"));
        var cloudEvent = entry.GetProperty("event");
        Assert.Equal("com.dapr.event.sent", Text(cloudEvent, "type"));
        Assert.Equal(topic, Text(cloudEvent, "topic"));
        Assert.Equal("application/json", Text(cloudEvent, "datacontenttype"));
        Assert.StartsWith("b-", cloudEvent.GetProperty("data").GetProperty("id").GetString(), StringComparison.Ordinal);
        // daprd re-marshals the event from a Go map: keys come out sorted.
        var keys = cloudEvent.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(keys.Order(StringComparer.Ordinal), keys);

        if (component == "redis")
        {
            await WaitUntilAcknowledgedAsync(Redis(backends), topic, appId, orders.Count);
        }

        Assert.Equal(orders.Count, host.App.On("/orders").Sum(r => Json(r).GetProperty("entries").GetArrayLength()));
    }

    [Theory]
    [MemberData(nameof(Components))]
    public async Task A_partial_batch_is_sent_when_maxAwaitDuration_has_passed_and_a_full_one_at_once(string component)
    {
        var ct = TestContext.Current.CancellationToken;
        var partialTopic = UniqueTopic("bulk-partial");
        var fullTopic = UniqueTopic("bulk-full");
        using var resources = PubSub(component, quickRedelivery: false);
        await using var host = await DaprTestHost.StartAsync("bulk-timing-" + component, resources, configureApp: app =>
        {
            app.MapPost("partial", (BulkSubscribeMessage<JsonElement> message) => Answer(message, _ => BulkSubscribeAppResponseStatus.SUCCESS))
                .WithTopic("pubsub", partialTopic)
                .WithBulkSubscribe(new BulkSubscribeTopicOptions { TopicName = partialTopic, MaxMessagesCount = 100, MaxAwaitDurationMs = 500 });
            app.MapPost("full", (BulkSubscribeMessage<JsonElement> message) => Answer(message, _ => BulkSubscribeAppResponseStatus.SUCCESS))
                .WithTopic("pubsub", fullTopic)
                .WithBulkSubscribe(new BulkSubscribeTopicOptions { TopicName = fullTopic, MaxMessagesCount = 3, MaxAwaitDurationMs = 60_000 });
        });
        await host.WaitForSidecarReadyAsync(Patience);

        // Three of a hundred: sent once the 500 ms window of the first one closes (generous bound: scheduling, CI).
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(1, 3).Select(i => host.Client.PublishEventAsync("pubsub", partialTopic, new Order($"p-{i}", i), ct)));
        var partial = await WaitForEntriesAsync(host, "/partial", 3);
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        Assert.Equal(3, partial.Sum(b => b.GetProperty("entries").GetArrayLength()));

        // Three of three with a one-minute window: sent as soon as the batch is full, not when the window closes.
        clock.Restart();
        await Task.WhenAll(Enumerable.Range(1, 3).Select(i => host.Client.PublishEventAsync("pubsub", fullTopic, new Order($"f-{i}", i), ct)));
        var full = await WaitForEntriesAsync(host, "/full", 3);
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(10));
        Assert.Equal(3, Assert.Single(full).GetProperty("entries").GetArrayLength());
    }

    [Theory]
    [MemberData(nameof(Components))]
    public async Task Entries_answered_RETRY_or_left_out_are_redelivered_and_SUCCESS_ones_are_not(string component)
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = UniqueTopic("bulk-retry");
        var appId = "bulk-retry-" + component;
        using var resources = PubSub(component);
        var firstSeen = new HashSet<string>(StringComparer.Ordinal);
        await using var host = await DaprTestHost.StartAsync(appId, resources, configureApp: app =>
            app.MapPost("orders", (BulkSubscribeMessage<JsonElement> message) => Answer(message, cloudEvent =>
                {
                    var id = cloudEvent.GetProperty("data").GetProperty("id").GetString()!;
                    bool first;
                    lock (firstSeen)
                    {
                        first = firstSeen.Add(id);
                    }

                    return (id, first) switch
                    {
                        ("retry", true) => BulkSubscribeAppResponseStatus.RETRY,
                        ("missing", true) => null,
                        _ => BulkSubscribeAppResponseStatus.SUCCESS,
                    };
                }))
                .WithTopic("pubsub", topic)
                .WithBulkSubscribe(new BulkSubscribeTopicOptions { TopicName = topic, MaxMessagesCount = 3, MaxAwaitDurationMs = 300 }));
        await host.WaitForSidecarReadyAsync(Patience);

        await Task.WhenAll(RetryIds.Select(id => host.Client.PublishEventAsync("pubsub", topic, new Order(id, 1), ct)));

        var batches = await WaitForEntriesAsync(host, "/orders", 5);
        var deliveries = batches.SelectMany(OrderIds).GroupBy(id => id).ToDictionary(g => g.Key, g => g.Count());
        if (component == "redis")
        {
            await WaitUntilAcknowledgedAsync(Redis(backends), topic, appId, 3);
            deliveries = host.App!.On("/orders").Select(Json).SelectMany(OrderIds).GroupBy(id => id).ToDictionary(g => g.Key, g => g.Count());
        }

        Assert.Equal(1, deliveries["ok"]);
        Assert.Equal(2, deliveries["retry"]);
        Assert.Equal(2, deliveries["missing"]);
    }

    [Theory]
    [MemberData(nameof(Components))]
    public async Task With_a_dead_letter_topic_DROP_and_failed_entries_go_there_and_nothing_is_redelivered(string component)
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = UniqueTopic("bulk-drop");
        var deadLetters = UniqueTopic("bulk-drop-dlq");
        var appId = "bulk-drop-" + component;
        using var resources = PubSub(component);
        var dead = new Handled<string>();
        await using var host = await DaprTestHost.StartAsync(appId, resources, configureApp: app =>
        {
            app.MapPost("orders", (BulkSubscribeMessage<JsonElement> message) => Answer(message, cloudEvent =>
                    cloudEvent.GetProperty("data").GetProperty("id").GetString() switch
                    {
                        "drop" => BulkSubscribeAppResponseStatus.DROP,
                        "retry" => BulkSubscribeAppResponseStatus.RETRY,
                        _ => BulkSubscribeAppResponseStatus.SUCCESS,
                    }))
                .WithTopic(new TopicOptions { PubsubName = "pubsub", Name = topic, DeadLetterTopic = deadLetters })
                .WithBulkSubscribe(new BulkSubscribeTopicOptions { TopicName = topic, MaxMessagesCount = 3, MaxAwaitDurationMs = 300 });
            app.MapPost("dead", (Order order) =>
            {
                dead.Add(order.Id);
                return Results.Ok();
            }).WithTopic("pubsub", deadLetters);
        });
        await host.WaitForSidecarReadyAsync(Patience);

        await Task.WhenAll(DropIds.Select(id => host.Client.PublishEventAsync("pubsub", topic, new Order(id, 1), ct)));

        // DROP: acked and dead-lettered. RETRY without a resiliency policy: straight to the dead-letter topic (daprd 1.16).
        Assert.Equal(["drop", "retry"], (await dead.WaitForAsync(2, Patience)).Order());
        var deadLetter = host.App!.On("/dead").Select(Json).First(e => e.GetProperty("data").GetProperty("id").GetString() == "drop");
        Assert.Equal(topic, Text(deadLetter, "topic")); // the original envelope, not the bulk one
        if (component == "redis")
        {
            await WaitUntilAcknowledgedAsync(Redis(backends), topic, appId, 3);
        }

        Assert.Equal(3, host.App.On("/orders").Sum(r => Json(r).GetProperty("entries").GetArrayLength()));
        Assert.Equal(2, dead.Snapshot().Count);
    }

    [Theory]
    [InlineData(404, 1)]
    [InlineData(500, 2)]
    public async Task A_404_drops_the_whole_batch_without_dead_lettering_and_other_errors_redeliver_it(int status, int expectedDeliveries)
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = UniqueTopic("bulk-status");
        var deadLetters = UniqueTopic("bulk-status-dlq");
        var appId = $"bulk-status-{status}";
        // No dead-letter topic for the 500 case: with one, the failed entries would go there instead of being redelivered.
        var deadLetterTopic = status == 404 ? deadLetters : null;
        using var resources = PubSub("redis");
        var calls = 0;
        await using var host = await DaprTestHost.StartAsync(appId, resources, configureApp: app =>
        {
            app.MapPost("orders", (BulkSubscribeMessage<JsonElement> message) =>
                    Interlocked.Increment(ref calls) == 1 ? Results.StatusCode(status) : Answer(message, _ => BulkSubscribeAppResponseStatus.SUCCESS))
                .WithTopic(new TopicOptions { PubsubName = "pubsub", Name = topic, DeadLetterTopic = deadLetterTopic })
                .WithBulkSubscribe(new BulkSubscribeTopicOptions { TopicName = topic, MaxMessagesCount = 2, MaxAwaitDurationMs = 300 });
            app.MapPost("dead", () => Results.Ok()).WithTopic("pubsub", deadLetters);
        });
        await host.WaitForSidecarReadyAsync(Patience);

        await Task.WhenAll(PairIds.Select(id => host.Client.PublishEventAsync("pubsub", topic, new Order(id, 1), ct)));

        await WaitForEntriesAsync(host, "/orders", 2 * expectedDeliveries);
        var redis = Redis(backends);
        await WaitUntilAcknowledgedAsync(redis, topic, appId, 2);
        var counts = host.App!.On("/orders").Select(Json).SelectMany(OrderIds).GroupBy(id => id).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(expectedDeliveries, counts["a"]);
        Assert.Equal(expectedDeliveries, counts["b"]);
        Assert.Empty(host.App.On("/dead"));
        Assert.Equal(0, await redis.StreamLengthAsync(deadLetters));
    }

    [Fact]
    public async Task A_declarative_bulk_subscription_with_rules_sends_one_batch_per_matched_path()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = UniqueTopic("bulk-rules");
        using var resources = PubSub("redis").Add($"""
            apiVersion: dapr.io/v2alpha1
            kind: Subscription
            metadata:
              name: bulk-rules
            spec:
              pubsubname: pubsub
              topic: {topic}
              routes:
                rules:
                  - match: event.data.quantity == 10
                    path: /big
                default: /small
              bulkSubscribe:
                enabled: true
                maxMessagesCount: 4
                maxAwaitDurationMs: 300
            scopes:
              - bulk-rules
            """);
        await using var host = await DaprTestHost.StartAsync("bulk-rules", resources, configureApp: app =>
        {
            app.MapPost("big", (BulkSubscribeMessage<JsonElement> message) => Answer(message, _ => BulkSubscribeAppResponseStatus.SUCCESS));
            app.MapPost("small", (BulkSubscribeMessage<JsonElement> message) => Answer(message, _ => BulkSubscribeAppResponseStatus.SUCCESS));
        });
        await host.WaitForSidecarReadyAsync(Patience);

        var orders = new[] { new Order("big-1", 10), new Order("small-1", 1), new Order("big-2", 10), new Order("small-2", 2) };
        await Task.WhenAll(orders.Select(o => host.Client.PublishEventAsync("pubsub", topic, o, ct)));

        var big = await WaitForEntriesAsync(host, "/big", 2);
        var small = await WaitForEntriesAsync(host, "/small", 2);
        Assert.Equal(["big-1", "big-2"], big.SelectMany(OrderIds).Order());
        Assert.Equal(["small-1", "small-2"], small.SelectMany(OrderIds).Order());
        await WaitUntilAcknowledgedAsync(Redis(backends), topic, "bulk-rules", 4);
    }

    /// <summary>The pub/sub component; the timing test keeps Redis' default (60 s) processing timeout.</summary>
    private Resources PubSub(string component, bool quickRedelivery = true) => component == "redis"
        ? new Resources().RedisPubSub("pubsub", backends.Redis.ConnectionString, quickRedelivery ? QuickRedelivery : null)
        : new Resources().Component("pubsub", "pubsub.in-memory");

    /// <summary>The SDK's response type: one status per entry; a null decision leaves the entry out of the answer.</summary>
    private static IResult Answer(BulkSubscribeMessage<JsonElement> message, Func<JsonElement, BulkSubscribeAppResponseStatus?> decide)
    {
        var statuses = new List<BulkSubscribeAppResponseEntry>();
        foreach (var entry in message.Entries)
        {
            if (decide(entry.Event) is { } status)
            {
                statuses.Add(new BulkSubscribeAppResponseEntry(entry.EntryId, status));
            }
        }

        return Results.Ok(new BulkSubscribeAppResponse(statuses));
    }

    /// <summary>The bulk envelopes received on <paramref name="path"/> once they hold at least <paramref name="entries"/> entries.</summary>
    private static async Task<IReadOnlyList<JsonElement>> WaitForEntriesAsync(DaprTestHost host, string path, int entries)
    {
        var log = await host.AppLog.WaitForAsync(
            all => all.Where(r => r.Path == path).Sum(r => Json(r).GetProperty("entries").GetArrayLength()) >= entries,
            Patience,
            $"{entries} bulk entr(ies) on {path}");
        return log.Where(r => r.Path == path).Select(Json).ToList();
    }

    private static IEnumerable<string> OrderIds(JsonElement envelope) =>
        envelope.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("event").GetProperty("data").GetProperty("id").GetString()!);
}
