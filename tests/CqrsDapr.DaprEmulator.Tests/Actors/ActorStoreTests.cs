using System.Net;
using System.Text;
using System.Text.Json;
using CqrsDapr.DaprEmulator.Actors;
using CqrsDapr.DaprEmulator.State;
using CqrsDapr.DaprEmulator.Tests.Infrastructure;
using CqrsDapr.TestSupport;
using Dapr.Actors;
using Dapr.Actors.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace CqrsDapr.DaprEmulator.Tests.Actors;

/// <summary>What the actor runtime keeps in the actor state store, across restarts and between two sidecars.</summary>
public sealed class ActorStoreTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private static Task<TestApp> StartAppAsync(int port, InProcessActorSidecar sidecar) =>
        TestApp.StartAsync(port, sidecar.Endpoints, s => s.AddTestActors(), app => app.MapActorsHandlers());

    [Fact]
    public async Task Actor_state_saved_by_the_sdk_is_stored_under_app_id_type_id_and_key()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var store = new InMemoryStateStore("actorstore");
        var appPort = FreePort.Next();
        await using var sidecar = await InProcessActorSidecar.StartAsync("store-keys", store, appPort);
        await using var app = await StartAppAsync(appPort, sidecar);
        await sidecar.InitializeAsync(ct);

        var actor = ActorProxy.Create<ICounterActor>(new ActorId("k1"), nameof(CounterActor), new ActorProxyOptions { HttpEndpoint = sidecar.HttpEndpoint });
        await actor.SaveAsync("color", "blue");
        var stored = await store.GetAsync("store-keys||CounterActor||k1||color", ct);

        Assert.NotNull(stored);
        Assert.Equal("\"blue\"", Encoding.UTF8.GetString(stored.Data.Span));
    }

    [Fact]
    public async Task Reminders_are_kept_in_the_actor_state_store_and_fire_again_after_the_sidecar_restarts()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var store = new InMemoryStateStore("actorstore");
        var appPort = FreePort.Next();
        var sidecar = await InProcessActorSidecar.StartAsync("store-reminders", store, appPort);
        await using var app = await StartAppAsync(appPort, sidecar);
        var probe = app.Services.GetRequiredService<ActorProbe>();
        await sidecar.InitializeAsync(ct);

        var actor = ActorProxy.Create<ICounterActor>(new ActorId("p1"), nameof(CounterActor), new ActorProxyOptions { HttpEndpoint = sidecar.HttpEndpoint });
        await actor.StartReminderAsync("persist", 100, 700, "kept");
        await probe.WaitForAsync("reminder:p1:persist:kept", 1, Wait);
        var track = await Eventually.Until(() => store.GetAsync("CounterActor||p1||persist", ct), t => t is not null, Wait, "the reminder's track to be saved");
        await sidecar.DisposeAsync();
        var firedBeforeRestart = probe.Count("reminder:p1:persist:kept");
        var list = await store.GetAsync("actors||CounterActor", ct);
        var metadata = await store.GetAsync("actors||CounterActor||metadata", ct);

        await using var restarted = await InProcessActorSidecar.StartAsync("store-reminders", store, appPort, sidecar.Port);
        await restarted.InitializeAsync(ct);
        await probe.WaitForAsync("reminder:p1:persist:kept", firedBeforeRestart + 1, Wait);
        using var http = new HttpClient { BaseAddress = new Uri(restarted.HttpEndpoint) };
        using var got = await http.GetAsync(new Uri("/v1.0/actors/CounterActor/p1/reminders/persist", UriKind.Relative), ct);

        var reminder = Assert.Single(JsonDocument.Parse(list!.Data).RootElement.EnumerateArray());
        Assert.Equal("persist", reminder.GetProperty("name").GetString());
        Assert.Equal("p1", reminder.GetProperty("actorID").GetString());
        Assert.Equal("CounterActor", reminder.GetProperty("actorType").GetString());
        Assert.Equal("0h0m0s700ms", reminder.GetProperty("period").GetString());
        Assert.Equal(Convert.ToBase64String("kept"u8), reminder.GetProperty("data").GetString());
        Assert.Equal(0, JsonDocument.Parse(metadata!.Data).RootElement.GetProperty("actorRemindersMetadata").GetProperty("partitionCount").GetInt32());
        Assert.True(JsonDocument.Parse(track!.Data).RootElement.TryGetProperty("lastFiredTime", out _));
        Assert.Equal(HttpStatusCode.OK, got.StatusCode);
    }

    [Fact]
    public async Task A_second_emulator_for_the_same_app_id_on_the_same_actor_store_refuses_to_host_its_actors()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var store = new InMemoryStateStore("actorstore");
        var appPort = FreePort.Next();
        await using var first = await InProcessActorSidecar.StartAsync("store-lease", store, appPort);
        await using var app = await StartAppAsync(appPort, first);
        await first.InitializeAsync(ct);

        await using var second = await InProcessActorSidecar.StartAsync("store-lease", store, appPort);
        var refused = await Assert.ThrowsAsync<ActorHostConflictException>(() => second.InitializeAsync(ct).WaitAsync(Wait, ct));
        await first.StopAsync();
        await using var third = await InProcessActorSidecar.StartAsync("store-lease", store, appPort);
        await third.InitializeAsync(ct).WaitAsync(Wait, ct);

        Assert.Contains("another Dapr emulator already hosts the actors of app 'store-lease'", refused.Message, StringComparison.Ordinal);
        Assert.Contains("placement", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Emulators_of_different_app_ids_share_one_actor_store()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var store = new InMemoryStateStore("actorstore");
        var appPort = FreePort.Next();
        await using var orders = await InProcessActorSidecar.StartAsync("store-orders", store, appPort);
        await using var app = await StartAppAsync(appPort, orders);
        await using var billing = await InProcessActorSidecar.StartAsync("store-billing", store, appPort);

        await orders.InitializeAsync(ct).WaitAsync(Wait, ct);
        await billing.InitializeAsync(ct).WaitAsync(Wait, ct);

        Assert.NotNull(await store.GetAsync(ActorHostLease.KeyFor("store-orders"), ct));
        Assert.NotNull(await store.GetAsync(ActorHostLease.KeyFor("store-billing"), ct));
    }

    [Fact]
    public async Task The_lease_of_an_emulator_that_stopped_renewing_it_is_taken_over_once_it_expires()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var store = new InMemoryStateStore("actorstore");
        var appPort = FreePort.Next();
        var now = DateTimeOffset.UtcNow;
        var crashed = JsonSerializer.SerializeToUtf8Bytes(new
        {
            instance = "crashed",
            appId = "store-takeover",
            host = "elsewhere",
            processId = 1,
            actorTypes = new[] { nameof(CounterActor) },
            renewedAt = now,
            expiresAt = now.AddSeconds(2),
        });
        await store.SetAsync(new StateSet(ActorHostLease.KeyFor("store-takeover"), StateValue.Json(crashed), null, StateConcurrency.Unspecified, new Dictionary<string, string>()), ct);
        await using var sidecar = await InProcessActorSidecar.StartAsync("store-takeover", store, appPort);
        await using var app = await StartAppAsync(appPort, sidecar);

        var started = DateTimeOffset.UtcNow;
        await sidecar.InitializeAsync(ct).WaitAsync(Wait, ct);
        var waited = DateTimeOffset.UtcNow - started;
        var lease = await store.GetAsync(ActorHostLease.KeyFor("store-takeover"), ct);

        Assert.True(waited >= TimeSpan.FromSeconds(1), $"took over after {waited.TotalMilliseconds:F0} ms, before the old lease expired");
        Assert.NotEqual("crashed", JsonDocument.Parse(lease!.Data).RootElement.GetProperty("instance").GetString());
    }
}
