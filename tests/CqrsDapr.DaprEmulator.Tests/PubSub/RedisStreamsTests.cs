using CqrsDapr.DaprEmulator.Tests.Infrastructure;
using CqrsDapr.TestSupport;
using Dapr;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using StackExchange.Redis;
using static CqrsDapr.DaprEmulator.Tests.PubSub.PubSubTestKit;

namespace CqrsDapr.DaprEmulator.Tests.PubSub;

/// <summary>pubsub.redis as it looks from Redis: stream layout, consumer group, survival of a server restart.</summary>
public sealed class RedisStreamsTests(Backends backends)
{
    [Fact]
    public async Task A_publish_without_metadata_writes_only_the_data_field_and_subscribing_creates_the_app_ids_group()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = UniqueTopic("layout");
        using var resources = new Resources().RedisPubSub("pubsub", backends.Redis.ConnectionString);
        await using var host = await DaprTestHost.StartAsync("redis-layout", resources, configureApp: app =>
            app.MapPost("layout", () => Results.Ok()).WithTopic("pubsub", topic));
        await host.WaitForSidecarReadyAsync(Patience);
        var redis = Redis(backends);
        var group = (await redis.StreamGroupInfoAsync(topic)).Single();
        Assert.Equal("redis-layout", group.Name);

        await host.Client.PublishEventAsync("pubsub", topic, new Order("l-1", 1), ct);

        await host.App!.WaitForAsync("/layout", 1, Patience);
        var entry = (await redis.StreamRangeAsync(topic)).Single();
        Assert.Equal(["data"], entry.Values.Select(v => v.Name.ToString()));
        await WaitUntilAcknowledgedAsync(redis, topic, "redis-layout", 1);
        var consumer = (await redis.StreamConsumerInfoAsync(topic, "redis-layout")).Single();
        Assert.Equal("redis-layout", consumer.Name);
    }

    [Fact]
    public async Task MaxLenApprox_trims_the_stream_as_messages_are_published()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = UniqueTopic("trimmed");
        using var resources = new Resources().RedisPubSub("pubsub", backends.Redis.ConnectionString, new Dictionary<string, string> { ["maxLenApprox"] = "10" });
        await using var host = await DaprTestHost.StartAsync("redis-trim", resources, withApp: false);

        for (var i = 0; i < 300; i++)
        {
            await host.Client.PublishEventAsync("pubsub", topic, new Order($"t-{i}", i), ct);
        }

        // MAXLEN ~ trims whole macro nodes (100 entries by default), so the length stays well under what was written.
        Assert.InRange(await Redis(backends).StreamLengthAsync(topic), 10, 200);
    }

    [Fact]
    public async Task Delivery_resumes_after_the_redis_server_restarts_and_loses_its_data()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await RedisServer.StartAsync(ct);
        Assert.SkipWhen(server.IsExternal, "an external Redis server cannot be restarted by the test");
        var topic = UniqueTopic("restart");
        using var resources = new Resources().RedisPubSub("pubsub", server.ConnectionString);
        await using var host = await DaprTestHost.StartAsync("redis-restart", resources, configureApp: app =>
            app.MapPost("restart", () => Results.Ok()).WithTopic("pubsub", topic));
        await host.WaitForSidecarReadyAsync(Patience);
        await host.Client.PublishEventAsync("pubsub", topic, new Order("before", 1), ct);
        await host.App!.WaitForAsync("/restart", 1, Patience);

        await server.RestartAsync(ct);
        await Eventually.Until(
            async () =>
            {
                try
                {
                    await host.Client.PublishEventAsync("pubsub", topic, new Order("after", 2), ct);
                    return true;
                }
                catch (DaprException)
                {
                    return false; // the sidecar's connection is still coming back
                }
            },
            published => published,
            Patience,
            "a publish to succeed after the restart");

        var log = await host.AppLog.WaitForAsync(
            all => all.Any(r => r.Path == "/restart" && Json(r).GetProperty("data").GetProperty("id").GetString() == "after"),
            Patience,
            "the message published after the restart");
        Assert.Contains(log, r => r.Path == "/restart" && Json(r).GetProperty("data").GetProperty("id").GetString() == "before");
        var group = (await Redis(server.ConnectionString).StreamGroupInfoAsync(topic)).Single();
        Assert.Equal("redis-restart", group.Name);
    }
}
