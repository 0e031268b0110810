using System.Text.Json;
using CqrsDapr.DaprEmulator.Tests.Infrastructure;
using Dapr;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using static CqrsDapr.DaprEmulator.Tests.PubSub.PubSubTestKit;

namespace CqrsDapr.DaprEmulator.Tests.PubSub;

/// <summary>Routing rules (<c>match</c>) from the app and from declarative <c>Subscription</c> resources (contract §2.2, §2.3).</summary>
public sealed class RoutingTests(Backends backends)
{
    [Fact]
    public async Task Events_go_to_the_first_route_whose_match_holds_and_the_rest_to_the_default_route()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = UniqueTopic("routed");
        using var resources = new Resources().RedisPubSub("pubsub", backends.Redis.ConnectionString);
        await using var host = await DaprTestHost.StartAsync("routing-programmatic", resources, configureApp: app =>
        {
            app.MapPost("v2", () => Results.Ok()).WithTopic(new TopicOptions { PubsubName = "pubsub", Name = topic, Match = "event.type == \"order.v2\"", Priority = 1 });
            app.MapPost("big", () => Results.Ok()).WithTopic(new TopicOptions { PubsubName = "pubsub", Name = topic, Match = "event.type != \"order.v2\" && (event.source == \"big\" || event.source == \"huge\")", Priority = 2 });
            app.MapPost("v1", () => Results.Ok()).WithTopic("pubsub", topic);
        });
        await host.WaitForSidecarReadyAsync(Patience);

        await host.Client.PublishEventAsync("pubsub", topic, new Order("v2", 1), new Dictionary<string, string> { ["cloudevent.type"] = "order.v2" }, ct);
        await host.Client.PublishEventAsync("pubsub", topic, new Order("v1", 1), ct);

        var log = await host.AppLog.WaitForAsync(all => all.Count(r => r.Path is "/v1" or "/v2") >= 2, Patience, "both routed deliveries");
        Assert.Equal("v2", Json(log.Single(r => r.Path == "/v2")).GetProperty("data").GetProperty("id").GetString());
        Assert.Equal("v1", Json(log.Single(r => r.Path == "/v1")).GetProperty("data").GetProperty("id").GetString());
        Assert.Empty(host.App!.On("/big"));
    }

    [Fact]
    public async Task A_declarative_subscription_routes_on_nested_data_and_is_listed_in_the_metadata()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = UniqueTopic("declared");
        using var resources = new Resources()
            .RedisPubSub("pubsub", backends.Redis.ConnectionString)
            .Add($"""
                apiVersion: dapr.io/v2alpha1
                kind: Subscription
                metadata:
                  name: orders-sub
                spec:
                  pubsubname: pubsub
                  topic: {topic}
                  routes:
                    rules:
                      - match: event.data.quantity == 10
                        path: /bulk-orders
                    default: /orders
                scopes:
                  - routing-declarative
                """);
        await using var host = await DaprTestHost.StartAsync("routing-declarative", resources, configureApp: app =>
        {
            app.MapPost("bulk-orders", () => Results.Ok());
            app.MapPost("orders", () => Results.Ok());
        });
        await host.WaitForSidecarReadyAsync(Patience);

        await host.Client.PublishEventAsync("pubsub", topic, new Order("ten", 10), ct);
        await host.Client.PublishEventAsync("pubsub", topic, new Order("one", 1), ct);

        var log = await host.AppLog.WaitForAsync(all => all.Count(r => r.Path is "/orders" or "/bulk-orders") >= 2, Patience, "both routed deliveries");
        Assert.Equal("ten", Json(log.Single(r => r.Path == "/bulk-orders")).GetProperty("data").GetProperty("id").GetString());
        Assert.Equal("one", Json(log.Single(r => r.Path == "/orders")).GetProperty("data").GetProperty("id").GetString());
        var subscription = Assert.Single(await SubscriptionsAsync(host), s => Text(s, "topic") == topic);
        Assert.Equal("pubsub", Text(subscription, "pubsubname"));
        Assert.Equal("DECLARATIVE", Text(subscription, "type"));
        Assert.Equal(["event.data.quantity == 10", ""], subscription.GetProperty("rules").EnumerateArray().Select(r => r.TryGetProperty("match", out var m) ? m.GetString() : ""));
    }

    [Fact]
    public async Task A_programmatic_subscription_replaces_a_declarative_one_for_the_same_topic()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = UniqueTopic("both");
        using var resources = new Resources()
            .RedisPubSub("pubsub", backends.Redis.ConnectionString)
            .Add($"""
                apiVersion: dapr.io/v2alpha1
                kind: Subscription
                metadata:
                  name: declared
                spec:
                  pubsubname: pubsub
                  topic: {topic}
                  routes:
                    default: /declared
                """);
        await using var host = await DaprTestHost.StartAsync("routing-override", resources, configureApp: app =>
        {
            app.MapPost("declared", () => Results.Ok());
            app.MapPost("programmatic", () => Results.Ok()).WithTopic("pubsub", topic);
        });
        await host.WaitForSidecarReadyAsync(Patience);

        await host.Client.PublishEventAsync("pubsub", topic, new Order("o", 1), ct);

        await host.App!.WaitForAsync("/programmatic", 1, Patience);
        await WaitUntilAcknowledgedAsync(Redis(backends), topic, "routing-override", 1);
        Assert.Empty(host.App.On("/declared"));
    }

    [Fact]
    public async Task A_match_expression_outside_the_emulated_subset_stops_that_subscription_loudly()
    {
        var topic = UniqueTopic("unsupported");
        using var resources = new Resources().RedisPubSub("pubsub", backends.Redis.ConnectionString);
        await using var host = await DaprTestHost.StartAsync("routing-unsupported", resources, configureApp: app =>
        {
            app.MapPost("starts", () => Results.Ok()).WithTopic(new TopicOptions { PubsubName = "pubsub", Name = topic, Match = "event.type.startsWith(\"order.\")", Priority = 1 });
            app.MapPost("fallback", () => Results.Ok()).WithTopic("pubsub", topic);
        });
        await host.WaitForSidecarReadyAsync(Patience);
        Assert.SkipUnless(host.Sidecar.Kind == CqrsDapr.TestSupport.Sidecar.EmulatorKind, "daprd implements all of CEL");

        Assert.Contains(host.Sidecar.Logs, l => l.Contains("is not supported by the Dapr emulator", StringComparison.Ordinal) && l.Contains(topic, StringComparison.Ordinal));
        Assert.DoesNotContain(await SubscriptionsAsync(host), s => Text(s, "topic") == topic);
    }

    /// <summary>The subscriptions the sidecar reports on <c>GET /v1.0/metadata</c> (the SDK's metadata type omits them).</summary>
    private static async Task<IReadOnlyList<JsonElement>> SubscriptionsAsync(DaprTestHost host)
    {
        using var http = new HttpClient { BaseAddress = new Uri(host.Sidecar.HttpEndpoint) };
        using var document = JsonDocument.Parse(await http.GetStringAsync(new Uri("/v1.0/metadata", UriKind.Relative), TestContext.Current.CancellationToken));
        return document.RootElement.TryGetProperty("subscriptions", out var list) ? list.EnumerateArray().Select(e => e.Clone()).ToList() : [];
    }
}
