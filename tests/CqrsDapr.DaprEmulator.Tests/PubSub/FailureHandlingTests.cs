using System.Text;
using CqrsDapr.DaprEmulator.Tests.Infrastructure;
using Dapr;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using static CqrsDapr.DaprEmulator.Tests.PubSub.PubSubTestKit;

namespace CqrsDapr.DaprEmulator.Tests.PubSub;

/// <summary>How the app's answers drive acknowledgement, redelivery and dead-lettering (contract §2.5, §2.6).</summary>
public sealed class FailureHandlingTests(Backends backends)
{
    /// <summary>Fast component redelivery so a NACKed message comes back within a second.</summary>
    private static readonly Dictionary<string, string> QuickRedelivery = new() { ["processingTimeout"] = "300ms", ["redeliverInterval"] = "200ms" };

    /// <summary>
    /// For the tests that count deliveries of an answered message: a pending message is redelivered only after 30 s,
    /// so a second delivery within the test can only come from the answer itself, never from a busy machine taking
    /// longer than a short processing timeout to deliver and acknowledge (at-least-once, as in daprd). Acknowledgement
    /// is checked directly (the consumer group's pending list).
    /// </summary>
    private static readonly Dictionary<string, string> NoRedeliveryDuringTest = new() { ["processingTimeout"] = "30s", ["redeliverInterval"] = "200ms" };

    [Theory]
    [InlineData("retry-status", 200, "{\"status\":\"RETRY\"}")]
    [InlineData("unknown-status", 200, "{\"status\":\"LATER\"}")]
    [InlineData("server-error", 500, "boom")]
    [InlineData("bad-request", 400, "")]
    public async Task A_retriable_answer_leaves_the_message_pending_and_the_component_redelivers_it(string name, int status, string body)
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = UniqueTopic(name);
        var appId = "failure-" + name;
        using var resources = new Resources().RedisPubSub("pubsub", backends.Redis.ConnectionString, QuickRedelivery);
        var attempts = 0;
        await using var host = await DaprTestHost.StartAsync(appId, resources, configureApp: app =>
            app.MapPost("retry", () => Interlocked.Increment(ref attempts) == 1 ? Results.Text(body, "application/json", statusCode: status) : Results.Ok())
                .WithTopic("pubsub", topic));
        await host.WaitForSidecarReadyAsync(Patience);

        await host.Client.PublishEventAsync("pubsub", topic, new Order("r-1", 1), ct);

        var deliveries = (await host.App!.WaitForAsync("/retry", 2, Patience)).Where(r => r.Path == "/retry").ToList();
        Assert.Equal(Text(Json(deliveries[0]), "id"), Text(Json(deliveries[1]), "id"));
        await WaitUntilAcknowledgedAsync(Redis(backends), topic, appId, 1);
        Assert.Equal(2, host.App.On("/retry").Count);
    }

    [Theory]
    [InlineData("empty", "", "text/plain")]
    [InlineData("not-json", "OK, thanks", "text/plain")]
    [InlineData("success", "{\"status\":\"SUCCESS\"}", "application/json")]
    [InlineData("no-status", "{\"handled\":true}", "application/json")]
    public async Task A_successful_answer_acknowledges_the_message_once(string name, string body, string contentType)
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = UniqueTopic(name);
        var appId = "success-" + name;
        using var resources = new Resources().RedisPubSub("pubsub", backends.Redis.ConnectionString, NoRedeliveryDuringTest);
        await using var host = await DaprTestHost.StartAsync(appId, resources, configureApp: app =>
            app.MapPost("ok", () => Results.Text(body, contentType)).WithTopic("pubsub", topic));
        await host.WaitForSidecarReadyAsync(Patience);

        await host.Client.PublishEventAsync("pubsub", topic, new Order("k-1", 1), ct);

        await host.App!.WaitForAsync("/ok", 1, Patience);
        await WaitUntilAcknowledgedAsync(Redis(backends), topic, appId, 1);
        Assert.Single(host.App.On("/ok"));
    }

    [Fact]
    public async Task A_DROP_answer_acknowledges_the_message_and_sends_it_to_the_dead_letter_topic()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = UniqueTopic("drop");
        var deadLetters = UniqueTopic("drop-dlq");
        using var resources = new Resources().RedisPubSub("pubsub", backends.Redis.ConnectionString, NoRedeliveryDuringTest);
        await using var host = await DaprTestHost.StartAsync("failure-drop", resources, configureApp: app =>
        {
            app.MapPost("drop", () => Results.Json(new { status = "DROP" }))
                .WithTopic(new TopicOptions { PubsubName = "pubsub", Name = topic, DeadLetterTopic = deadLetters });
            app.MapPost("dead", () => Results.Ok()).WithTopic("pubsub", deadLetters);
        });
        await host.WaitForSidecarReadyAsync(Patience);

        await host.Client.PublishEventAsync("pubsub", topic, new Order("d-1", 1), ct);

        var dead = (await host.App!.WaitForAsync("/dead", 1, Patience)).Single(r => r.Path == "/dead");
        var original = host.App.On("/drop").Single();
        Assert.Equal(original.Body, dead.Body); // the original envelope, topic field included
        Assert.Equal(topic, Text(Json(dead), "topic"));
        Assert.Equal("pubsub", dead.Headers["pubsubname"]);
        await WaitUntilAcknowledgedAsync(Redis(backends), topic, "failure-drop", 1);
        Assert.Single(host.App.On("/drop"));
    }

    [Fact]
    public async Task A_404_answer_drops_the_message_without_dead_lettering_it()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = UniqueTopic("gone");
        var deadLetters = UniqueTopic("gone-dlq");
        using var resources = new Resources().RedisPubSub("pubsub", backends.Redis.ConnectionString, NoRedeliveryDuringTest);
        await using var host = await DaprTestHost.StartAsync("failure-404", resources, configureApp: app =>
        {
            app.MapPost("gone", () => Results.NotFound())
                .WithTopic(new TopicOptions { PubsubName = "pubsub", Name = topic, DeadLetterTopic = deadLetters });
            app.MapPost("dead", () => Results.Ok()).WithTopic("pubsub", deadLetters);
        });
        await host.WaitForSidecarReadyAsync(Patience);

        await host.Client.PublishEventAsync("pubsub", topic, new Order("g-1", 1), ct);

        await host.App!.WaitForAsync("/gone", 1, Patience);
        var redis = Redis(backends);
        await WaitUntilAcknowledgedAsync(redis, topic, "failure-404", 1);
        // Acknowledged after the (absent) dead-letter publish: the dead-letter stream stays empty.
        Assert.Equal(0, await redis.StreamLengthAsync(deadLetters));
        Assert.Single(host.App.On("/gone"));
        Assert.Empty(host.App.On("/dead"));
    }

    [Fact]
    public async Task A_message_published_while_the_app_is_down_is_delivered_once_it_is_back()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = UniqueTopic("down");
        using var resources = new Resources().RedisPubSub("pubsub", backends.Redis.ConnectionString, QuickRedelivery);
        await using var host = await DaprTestHost.StartAsync("failure-down", resources, configureApp: app =>
            app.MapPost("down", () => Results.Ok()).WithTopic("pubsub", topic));
        await host.WaitForSidecarReadyAsync(Patience);
        await host.StopAppAsync();

        await host.Client.PublishEventAsync("pubsub", topic, new Order("a-1", 1), ct);
        var redis = Redis(backends);
        await Eventually.Until(() => PendingAsync(redis, topic, "failure-down"), n => n == 1, Patience, "the failed delivery to stay pending");
        await host.StartAppAsync();

        var delivery = (await host.AppLog.WaitForAsync(all => all.Any(r => r.Path == "/down"), Patience, "the redelivery")).First(r => r.Path == "/down");
        Assert.Equal("a-1", Json(delivery).GetProperty("data").GetProperty("id").GetString());
        await WaitUntilAcknowledgedAsync(redis, topic, "failure-down", 1);
    }

    [Fact]
    public async Task The_inbound_resiliency_policy_retries_the_delivery_before_the_dead_letter_topic_takes_it()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = UniqueTopic("policy");
        var deadLetters = UniqueTopic("policy-dlq");
        using var resources = new Resources()
            .RedisPubSub("pubsub", backends.Redis.ConnectionString)
            .Add("""
                apiVersion: dapr.io/v1alpha1
                kind: Resiliency
                metadata:
                  name: pubsub-resiliency
                spec:
                  policies:
                    retries:
                      deliveryRetry:
                        policy: constant
                        duration: 50ms
                        maxRetries: 2
                  targets:
                    components:
                      pubsub:
                        inbound:
                          retry: deliveryRetry
                """);
        await using var host = await DaprTestHost.StartAsync("failure-policy", resources, configureApp: app =>
        {
            app.MapPost("policy", () => Results.StatusCode(503))
                .WithTopic(new TopicOptions { PubsubName = "pubsub", Name = topic, DeadLetterTopic = deadLetters });
            app.MapPost("dead", () => Results.Ok()).WithTopic("pubsub", deadLetters);
        });
        await host.WaitForSidecarReadyAsync(Patience);

        await host.Client.PublishEventAsync("pubsub", topic, new Order("p-1", 1), ct);

        var log = await host.App!.WaitForAsync("/dead", 1, Patience);
        var attempts = log.Where(r => r.Path == "/policy").ToList();
        Assert.Equal(3, attempts.Count); // the first delivery and maxRetries: 2
        Assert.Single(attempts.Select(a => Text(Json(a), "id")).Distinct());
        Assert.Equal(attempts[0].Body, log.Single(r => r.Path == "/dead").Body);
        await WaitUntilAcknowledgedAsync(Redis(backends), topic, "failure-policy", 1);
    }

    [Fact]
    public async Task Without_a_retry_policy_the_dead_letter_topic_takes_a_message_on_its_first_failure()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = UniqueTopic("first");
        var deadLetters = UniqueTopic("first-dlq");
        using var resources = new Resources().RedisPubSub("pubsub", backends.Redis.ConnectionString, QuickRedelivery);
        await using var host = await DaprTestHost.StartAsync("failure-first", resources, configureApp: app =>
        {
            app.MapPost("first", () => Results.StatusCode(500))
                .WithTopic(new TopicOptions { PubsubName = "pubsub", Name = topic, DeadLetterTopic = deadLetters });
            app.MapPost("dead", () => Results.Ok()).WithTopic("pubsub", deadLetters);
        });
        await host.WaitForSidecarReadyAsync(Patience);

        await host.Client.PublishEventAsync("pubsub", topic, new Order("f-1", 1), ct);

        await host.App!.WaitForAsync("/dead", 1, Patience);
        await WaitUntilAcknowledgedAsync(Redis(backends), topic, "failure-first", 1);
        Assert.Single(host.App.On("/first"));
    }

    [Fact]
    public async Task A_payload_that_is_not_json_takes_the_error_path_to_the_dead_letter_topic()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = UniqueTopic("garbage");
        var deadLetters = UniqueTopic("garbage-dlq");
        using var resources = new Resources().RedisPubSub("pubsub", backends.Redis.ConnectionString);
        await using var host = await DaprTestHost.StartAsync("failure-garbage", resources, configureApp: app =>
        {
            app.MapPost("garbage", () => Results.Ok())
                .WithTopic(new TopicOptions { PubsubName = "pubsub", Name = topic, DeadLetterTopic = deadLetters });
            app.MapPost("dead", () => Results.Ok()).WithTopic("pubsub", deadLetters, enableRawPayload: true);
        });
        await host.WaitForSidecarReadyAsync(Patience);

        // A raw publish stores the bytes as they are; the (non-raw) subscriber cannot read them as a CloudEvent.
        await host.Client.PublishByteEventAsync("pubsub", topic, "not json"u8.ToArray(), "text/plain", new Dictionary<string, string> { ["rawPayload"] = "true" }, ct);

        var dead = (await host.App!.WaitForAsync("/dead", 1, Patience)).Single(r => r.Path == "/dead");
        Assert.Equal("not json", Encoding.UTF8.GetString(Json(dead).GetProperty("data_base64").GetBytesFromBase64()));
        Assert.Empty(host.App.On("/garbage"));
        await WaitUntilAcknowledgedAsync(Redis(backends), topic, "failure-garbage", 1);
    }

    [Fact]
    public async Task An_expired_event_is_dropped_and_copied_to_the_dead_letter_topic_where_it_is_dropped_again()
    {
        var topic = UniqueTopic("expired");
        var deadLetters = UniqueTopic("expired-dlq");
        using var resources = new Resources().RedisPubSub("pubsub", backends.Redis.ConnectionString);
        await using var host = await DaprTestHost.StartAsync("failure-expired", resources, configureApp: app =>
        {
            app.MapPost("expired", () => Results.Ok())
                .WithTopic(new TopicOptions { PubsubName = "pubsub", Name = topic, DeadLetterTopic = deadLetters });
            app.MapPost("dead", () => Results.Ok()).WithTopic("pubsub", deadLetters);
        });
        await host.WaitForSidecarReadyAsync(Patience);
        var redis = Redis(backends);

        // An envelope as daprd stores it for a publish with ttlInSeconds, whose expiration has passed.
        var envelope = $$"""{"data":{"id":"x-1","quantity":1},"datacontenttype":"application/json","expiration":"2001-01-01T00:00:00Z","id":"e-1","pubsubname":"pubsub","source":"elsewhere","specversion":"1.0","topic":"{{topic}}","type":"com.dapr.event.sent"}""";
        await redis.StreamAddAsync(topic, "data", envelope);

        // The copy keeps the envelope, expiration included, so the dead-letter subscriber drops it as well.
        await WaitUntilAcknowledgedAsync(redis, topic, "failure-expired", 1);
        await WaitUntilAcknowledgedAsync(redis, deadLetters, "failure-expired", 1);
        var copy = (await redis.StreamRangeAsync(deadLetters)).Single();
        Assert.Equal(envelope, copy["data"].ToString());
        Assert.Equal("{\"pubsubName\":\"pubsub\"}", copy["metadata"].ToString());
        Assert.DoesNotContain(host.AppLog.Snapshot(), r => r.Method == "POST");
    }
}
