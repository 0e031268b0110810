using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CqrsDapr.DaprEmulator.Tests.Infrastructure;
using Dapr;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using static CqrsDapr.DaprEmulator.Tests.PubSub.PubSubTestKit;

namespace CqrsDapr.DaprEmulator.Tests.PubSub;

/// <summary>What reaches the app, and in which shape, when events are published through the SDK.</summary>
public sealed partial class DeliveryTests(Backends backends)
{
    [Fact]
    public async Task A_published_event_arrives_as_the_cloud_event_daprd_builds_and_the_handler_gets_the_data()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = UniqueTopic("orders");
        using var resources = new Resources().RedisPubSub("pubsub", backends.Redis.ConnectionString);
        var handled = new Handled<Order>();
        await using var host = await DaprTestHost.StartAsync("delivery-envelope", resources, configureApp: app =>
            app.MapPost("orders", (Order order) =>
            {
                handled.Add(order);
                return Results.Ok();
            }).WithTopic("pubsub", topic));
        await host.WaitForSidecarReadyAsync(Patience);
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);

        await host.Client.PublishEventAsync("pubsub", topic, new Order("o-1", 3), ct);

        var delivery = (await host.App!.WaitForAsync("/orders", 1, Patience)).Single(r => r.Path == "/orders");
        Assert.Equal("POST", delivery.Method);
        Assert.Equal("application/cloudevents+json", delivery.ContentType);
        Assert.Equal("pubsub", delivery.Headers["pubsubname"]);
        var envelope = Json(delivery);
        Assert.True(Guid.TryParse(Text(envelope, "id"), out _));
        Assert.Equal("delivery-envelope", Text(envelope, "source"));
        Assert.Equal("com.dapr.event.sent", Text(envelope, "type"));
        Assert.Equal("1.0", Text(envelope, "specversion"));
        Assert.Equal("application/json", Text(envelope, "datacontenttype"));
        Assert.Equal(topic, Text(envelope, "topic"));
        Assert.Equal("pubsub", Text(envelope, "pubsubname"));
        Assert.Equal(JsonValueKind.Object, envelope.GetProperty("data").ValueKind);
        Assert.Equal("o-1", envelope.GetProperty("data").GetProperty("id").GetString());
        Assert.Equal(3, envelope.GetProperty("data").GetProperty("quantity").GetInt32());
        Assert.Matches(TraceParent(), Text(envelope, "traceparent"));
        Assert.Equal(Text(envelope, "traceparent"), Text(envelope, "traceid"));
        Assert.Equal(Text(envelope, "traceparent"), delivery.Headers["traceparent"]);
        var time = DateTimeOffset.Parse(Text(envelope, "time"), CultureInfo.InvariantCulture);
        Assert.InRange(time, before, DateTimeOffset.UtcNow.AddSeconds(1));
        // daprd marshals a Go map: the keys come out sorted.
        var names = envelope.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(names.Order(StringComparer.Ordinal), names);

        Assert.Equal([new Order("o-1", 3)], await handled.WaitForAsync(1, Patience));
    }

    [Fact]
    public async Task The_app_receives_exactly_the_bytes_stored_in_the_stream_with_the_publish_metadata_as_headers()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = UniqueTopic("bytes");
        using var resources = new Resources().RedisPubSub("pubsub", backends.Redis.ConnectionString);
        await using var host = await DaprTestHost.StartAsync("delivery-bytes", resources, configureApp: app =>
            app.MapPost("bytes", () => Results.Ok()).WithTopic("pubsub", topic));
        await host.WaitForSidecarReadyAsync(Patience);

        await host.Client.PublishEventAsync("pubsub", topic, new Order("o-2", 1), new Dictionary<string, string> { ["ttlInSeconds"] = "120", ["tenant"] = "acme & co" }, ct);

        var delivery = (await host.App!.WaitForAsync("/bytes", 1, Patience)).Single(r => r.Path == "/bytes");
        var stored = (await Redis(backends).StreamRangeAsync(topic)).Single();
        Assert.Equal(["data", "metadata"], stored.Values.Select(v => v.Name.ToString()).Order(StringComparer.Ordinal));
        Assert.Equal((byte[])stored["data"]!, delivery.Body);
        Assert.Equal("{\"tenant\":\"acme \\u0026 co\",\"ttlInSeconds\":\"120\"}", stored["metadata"].ToString());
        Assert.Equal("120", delivery.Headers["ttlinseconds"]);
        Assert.Equal("acme & co", delivery.Headers["tenant"]);
        // No native TTL in pubsub.redis: daprd writes the expiration into the envelope.
        var expiration = DateTimeOffset.Parse(Text(Json(delivery), "expiration"), CultureInfo.InvariantCulture);
        Assert.InRange(expiration, DateTimeOffset.UtcNow.AddSeconds(100), DateTimeOffset.UtcNow.AddSeconds(121));
    }

    [Fact]
    public async Task Deliveries_carry_the_app_api_token_when_one_is_configured()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = UniqueTopic("token");
        using var resources = new Resources().RedisPubSub("pubsub", backends.Redis.ConnectionString);
        await using var host = await DaprTestHost.StartAsync("delivery-token", resources, appApiToken: "app-secret", configureApp: app =>
            app.MapPost("token", () => Results.Ok()).WithTopic("pubsub", topic));
        await host.WaitForSidecarReadyAsync(Patience);

        await host.Client.PublishEventAsync("pubsub", topic, new Order("t-1", 1), ct);

        var log = await host.App!.WaitForAsync("/token", 1, Patience);
        Assert.Equal("app-secret", log.Single(r => r.Path == "/token").Headers["dapr-api-token"]);
        Assert.Equal("app-secret", log.First(r => r.Path == "/dapr/subscribe").Headers["dapr-api-token"]);
    }

    [Fact]
    public async Task Events_published_in_bulk_through_the_sdk_are_all_delivered()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = UniqueTopic("bulk");
        using var resources = new Resources().RedisPubSub("pubsub", backends.Redis.ConnectionString);
        var handled = new Handled<Order>();
        await using var host = await DaprTestHost.StartAsync("delivery-bulk", resources, configureApp: app =>
            app.MapPost("bulk", (Order order) =>
            {
                handled.Add(order);
                return Results.Ok();
            }).WithTopic("pubsub", topic));
        await host.WaitForSidecarReadyAsync(Patience);
        var orders = Enumerable.Range(1, 20).Select(i => new Order($"b-{i}", i)).ToList();

        var response = await host.Client.BulkPublishEventAsync("pubsub", topic, orders, cancellationToken: ct);

        Assert.Empty(response.FailedEntries);
        var deliveries = await host.App!.WaitForAsync("/bulk", orders.Count, Patience);
        Assert.Equal(orders.Count, deliveries.Count(r => r.Path == "/bulk"));
        Assert.Equal(orders.OrderBy(o => o.Id, StringComparer.Ordinal), (await handled.WaitForAsync(orders.Count, Patience)).OrderBy(o => o.Id, StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_raw_payload_subscription_gets_an_envelope_synthesized_around_the_raw_bytes()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = UniqueTopic("raw");
        using var resources = new Resources().RedisPubSub("pubsub", backends.Redis.ConnectionString);
        var handled = new Handled<byte[]>();
        await using var host = await DaprTestHost.StartAsync("delivery-raw", resources, configureApp: app =>
            app.MapPost("raw", async (HttpRequest request) =>
            {
                using var buffer = new MemoryStream();
                await request.Body.CopyToAsync(buffer);
                handled.Add(buffer.ToArray());
                return Results.Ok();
            }).WithTopic("pubsub", topic, enableRawPayload: true));
        await host.WaitForSidecarReadyAsync(Patience);
        var payload = new byte[] { 0, 1, 2, 250, 255 };

        await host.Client.PublishByteEventAsync("pubsub", topic, payload, "application/octet-stream", new Dictionary<string, string> { ["rawPayload"] = "true" }, ct);

        var delivery = (await host.App!.WaitForAsync("/raw", 1, Patience)).Single(r => r.Path == "/raw");
        Assert.Equal(payload, (byte[])(await Redis(backends).StreamRangeAsync(topic)).Single()["data"]!);
        var envelope = Json(delivery);
        Assert.True(Guid.TryParse(Text(envelope, "id"), out _));
        Assert.Equal("Dapr", Text(envelope, "source"));
        Assert.Equal("com.dapr.event.sent", Text(envelope, "type"));
        Assert.Equal("application/octet-stream", Text(envelope, "datacontenttype"));
        Assert.Equal(topic, Text(envelope, "topic"));
        Assert.Equal("pubsub", Text(envelope, "pubsubname"));
        Assert.Equal(payload, envelope.GetProperty("data_base64").GetBytesFromBase64());
        Assert.False(envelope.TryGetProperty("data", out _));
        Assert.Equal([payload], await handled.WaitForAsync(1, Patience));
    }

    [Fact]
    public async Task A_cloud_event_published_as_is_keeps_its_attributes_and_gains_topic_pubsub_and_trace()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = UniqueTopic("ce");
        using var resources = new Resources().RedisPubSub("pubsub", backends.Redis.ConnectionString);
        var handled = new Handled<Order>();
        await using var host = await DaprTestHost.StartAsync("delivery-ce", resources, configureApp: app =>
            app.MapPost("ce", (Order order) =>
            {
                handled.Add(order);
                return Results.Ok();
            }).WithTopic("pubsub", topic));
        await host.WaitForSidecarReadyAsync(Patience);
        var cloudEvent = """
            {"specversion":"1.0","id":"custom-1","source":"urn:shop","type":"order.placed","subject":"o-9","datacontenttype":"application/json","data":{"id":"o-9","quantity":9}}
            """;

        await host.Client.PublishByteEventAsync("pubsub", topic, Encoding.UTF8.GetBytes(cloudEvent), "application/cloudevents+json", cancellationToken: ct);

        var envelope = Json((await host.App!.WaitForAsync("/ce", 1, Patience)).Single(r => r.Path == "/ce"));
        Assert.Equal("custom-1", Text(envelope, "id"));
        Assert.Equal("urn:shop", Text(envelope, "source"));
        Assert.Equal("order.placed", Text(envelope, "type"));
        Assert.Equal("o-9", Text(envelope, "subject"));
        Assert.Equal(topic, Text(envelope, "topic"));
        Assert.Equal("pubsub", Text(envelope, "pubsubname"));
        Assert.Matches(TraceParent(), Text(envelope, "traceparent"));
        Assert.True(envelope.TryGetProperty("time", out _));
        Assert.Equal([new Order("o-9", 9)], await handled.WaitForAsync(1, Patience));
    }

    [Fact]
    public async Task The_in_memory_pubsub_delivers_to_the_app_too()
    {
        var ct = TestContext.Current.CancellationToken;
        using var resources = new Resources().Component("memory", "pubsub.in-memory");
        var handled = new Handled<Order>();
        await using var host = await DaprTestHost.StartAsync("delivery-memory", resources, configureApp: app =>
            app.MapPost("memory", (Order order) =>
            {
                handled.Add(order);
                return Results.Ok();
            }).WithTopic("memory", "things"));
        await host.WaitForSidecarReadyAsync(Patience);

        await host.Client.PublishEventAsync("memory", "things", new Order("m-1", 1), ct);

        var envelope = Json((await host.App!.WaitForAsync("/memory", 1, Patience)).Single(r => r.Path == "/memory"));
        Assert.Equal("memory", Text(envelope, "pubsubname"));
        Assert.Equal("things", Text(envelope, "topic"));
        Assert.Equal([new Order("m-1", 1)], await handled.WaitForAsync(1, Patience));
    }

    [GeneratedRegex("^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")]
    private static partial Regex TraceParent();
}
