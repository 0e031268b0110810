using System.Text;
using CqrsDapr.DaprEmulator.Actors;

namespace CqrsDapr.DaprEmulator.Tests.Actors;

/// <summary>How the answer to <c>GET /dapr/config</c> turns into per-type settings (daprd 1.16 rules).</summary>
public sealed class ActorHostConfigTests
{
    private static ActorHostConfig Parse(string json) => ActorHostConfig.Parse(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void The_dotnet_sdks_config_is_read_with_go_durations()
    {
        var config = Parse("""
            {"entities":["OrderActor","CartActor"],"actorIdleTimeout":"0h5m0s0ms","actorScanInterval":"0h0m10s0ms",
             "drainOngoingCallTimeout":"0h0m20s0ms","drainRebalancedActors":true,"reentrancy":{"enabled":true,"maxStackDepth":8}}
            """);

        Assert.Equal(["CartActor", "OrderActor"], config.HostedTypes.Order(StringComparer.Ordinal));
        Assert.Equal(TimeSpan.FromSeconds(10), config.ScanInterval);
        Assert.Equal(new ActorTypeSettings(TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(20), true, 8), config.For("OrderActor"));
    }

    [Fact]
    public void Missing_or_unreadable_settings_take_daprds_defaults()
    {
        var config = Parse("""{"entities":["OrderActor"],"actorIdleTimeout":"soon","actorScanInterval":"never"}""");

        Assert.Equal(TimeSpan.FromSeconds(30), config.ScanInterval);
        Assert.Equal(new ActorTypeSettings(TimeSpan.FromMinutes(60), TimeSpan.FromSeconds(60), false, 32), config.For("OrderActor"));
    }

    [Fact]
    public void An_entities_config_entry_replaces_the_settings_of_its_types_as_a_whole()
    {
        var config = Parse("""
            {"entities":["OrderActor","CartActor"],"actorIdleTimeout":"10m","reentrancy":{"enabled":true},
             "entitiesConfig":[{"entities":["CartActor","GhostActor"],"drainOngoingCallTimeout":"5s"}]}
            """);

        Assert.Equal(new ActorTypeSettings(TimeSpan.FromMinutes(10), TimeSpan.FromSeconds(60), true, 32), config.For("OrderActor"));
        // Not inherited from the top level: what the entry leaves out takes daprd's defaults.
        Assert.Equal(new ActorTypeSettings(TimeSpan.FromMinutes(60), TimeSpan.FromSeconds(5), false, 32), config.For("CartActor"));
        Assert.False(config.Hosts("GhostActor"));
    }

    [Fact]
    public void An_app_without_entities_hosts_no_actors()
    {
        Assert.Empty(Parse("{}").HostedTypes);
        Assert.Throws<System.Text.Json.JsonException>(() => Parse("[]"));
    }
}
