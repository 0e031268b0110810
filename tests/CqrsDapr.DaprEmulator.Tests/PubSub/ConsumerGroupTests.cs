using CqrsDapr.DaprEmulator.Tests.Infrastructure;
using Dapr;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using static CqrsDapr.DaprEmulator.Tests.PubSub.PubSubTestKit;

namespace CqrsDapr.DaprEmulator.Tests.PubSub;

/// <summary>Competing consumers within an app-id, fan-out across app-ids (contract §2.8).</summary>
public sealed class ConsumerGroupTests(Backends backends)
{
    [Fact]
    public async Task Two_replicas_of_one_app_share_the_messages_and_none_is_delivered_twice()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = UniqueTopic("shared");
        using var resources = new Resources().RedisPubSub("pubsub", backends.Redis.ConnectionString);
        await using var first = await DaprTestHost.StartAsync("groups-replicated", resources, configureApp: Route(topic));
        await using var second = await DaprTestHost.StartAsync("groups-replicated", resources, configureApp: Route(topic));
        await first.WaitForSidecarReadyAsync(Patience);
        await second.WaitForSidecarReadyAsync(Patience);

        // Publish one at a time until both replicas have had a share (Redis hands each new entry to one blocked reader).
        var published = 0;
        while (published < 200 && (first.App!.On("/shared").Count == 0 || second.App!.On("/shared").Count == 0))
        {
            await first.Client.PublishEventAsync("pubsub", topic, new Order($"s-{published}", published), ct);
            published++;
            await WaitForTotalAsync(first, second, published);
        }

        await WaitUntilAcknowledgedAsync(Redis(backends), topic, "groups-replicated", published);
        var ids = first.App!.On("/shared").Concat(second.App!.On("/shared")).Select(r => Json(r).GetProperty("data").GetProperty("id").GetString()).ToList();
        Assert.NotEmpty(first.App.On("/shared"));
        Assert.NotEmpty(second.App.On("/shared"));
        Assert.Equal(published, ids.Count);
        Assert.Equal(Enumerable.Range(0, published).Select(i => $"s-{i}").Order(StringComparer.Ordinal), ids.Order(StringComparer.Ordinal));
        var consumers = await Redis(backends).StreamConsumerInfoAsync(topic, "groups-replicated");
        Assert.Equal(["groups-replicated"], consumers.Select(c => c.Name.ToString()));
    }

    [Fact]
    public async Task Two_different_apps_each_get_every_message()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = UniqueTopic("fanout");
        using var resources = new Resources().RedisPubSub("pubsub", backends.Redis.ConnectionString);
        await using var billing = await DaprTestHost.StartAsync("groups-billing", resources, configureApp: Route(topic));
        await using var shipping = await DaprTestHost.StartAsync("groups-shipping", resources, configureApp: Route(topic));
        await billing.WaitForSidecarReadyAsync(Patience);
        await shipping.WaitForSidecarReadyAsync(Patience);

        for (var i = 0; i < 10; i++)
        {
            await billing.Client.PublishEventAsync("pubsub", topic, new Order($"f-{i}", i), ct);
        }

        foreach (var app in new[] { billing, shipping })
        {
            var received = (await app.App!.WaitForAsync("/shared", 10, Patience)).Where(r => r.Path == "/shared")
                .Select(r => Json(r).GetProperty("data").GetProperty("id").GetString()).Order(StringComparer.Ordinal);
            Assert.Equal(Enumerable.Range(0, 10).Select(i => $"f-{i}").Order(StringComparer.Ordinal), received);
        }

        var groups = await Redis(backends).StreamGroupInfoAsync(topic);
        Assert.Equal(["groups-billing", "groups-shipping"], groups.Select(g => g.Name.ToString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_consumerID_template_names_the_consumer_group_and_a_new_group_reads_the_stream_from_the_start()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = UniqueTopic("history");
        using var publisherResources = new Resources().RedisPubSub("pubsub", backends.Redis.ConnectionString);
        await using (var publisher = await DaprTestHost.StartAsync("groups-publisher", publisherResources, withApp: false))
        {
            await publisher.Client.PublishEventAsync("pubsub", topic, new Order("h-1", 1), ct);
        }

        using var resources = new Resources().RedisPubSub("pubsub", backends.Redis.ConnectionString, new Dictionary<string, string> { ["consumerID"] = "{appID}-readers" });
        await using var host = await DaprTestHost.StartAsync("groups-late", resources, configureApp: Route(topic));

        var delivery = (await host.App!.WaitForAsync("/shared", 1, Patience)).Single(r => r.Path == "/shared");
        Assert.Equal("h-1", Json(delivery).GetProperty("data").GetProperty("id").GetString());
        var groups = await Redis(backends).StreamGroupInfoAsync(topic);
        Assert.Equal(["groups-late-readers"], groups.Select(g => g.Name.ToString()));
    }

    private static Action<WebApplication> Route(string topic) => app => app.MapPost("shared", () => Results.Ok()).WithTopic("pubsub", topic);

    private static Task<int> WaitForTotalAsync(DaprTestHost first, DaprTestHost second, int total) =>
        Eventually.Until(
            () => Task.FromResult(first.App!.On("/shared").Count + second.App!.On("/shared").Count),
            n => n >= total,
            Patience,
            $"{total} deliveries across both replicas");
}
