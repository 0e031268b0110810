using System.Net;
using System.Text.Json;
using CqrsDapr.DaprEmulator.Tests.Infrastructure;
using Dapr.Actors;
using Dapr.Actors.Client;
using Dapr.Actors.Runtime;
using Microsoft.AspNetCore.Builder;

namespace CqrsDapr.DaprEmulator.Tests.Actors;

/// <summary>Reentrancy, timers, reminders and deactivation, driven through the .NET actors SDK.</summary>
public sealed class ActorLifecycleTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private static Resources ActorStore() =>
        new Resources().Component("actorstore", "state.in-memory", new Dictionary<string, string> { ["actorStateStore"] = "true" });

    private static Task<DaprTestHost> StartAsync(string appId, Resources resources, Action<ActorRuntimeOptions>? configure = null) =>
        DaprTestHost.StartAsync(appId, resources, s => s.AddTestActors(configure), app => app.MapActorsHandlers());

    [Fact]
    public async Task With_reentrancy_enabled_an_actor_can_call_itself_through_the_sdk()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("actors-reentrant-sdk", resources, o =>
        {
            o.Actors.RegisterActor<ReentrantActor>();
            o.ReentrancyConfig = new ActorReentrancyConfig { Enabled = true, MaxStackDepth = 8 };
        });
        var ct = TestContext.Current.CancellationToken;

        var actor = ActorProxy.Create<IReentrantActor>(new ActorId("self"), nameof(ReentrantActor), host.ProxyOptions());
        var result = await actor.CallSelfAsync(3).WaitAsync(Wait, ct);

        Assert.Equal("3>2>1>bottom", result);
        var ids = host.AppLog.Snapshot().Where(r => r.Path == "/actors/ReentrantActor/self/method/CallSelfAsync").Select(r => r.Headers["Dapr-Reentrancy-Id"]).ToList();
        Assert.Equal(4, ids.Count);
        Assert.Single(ids.Distinct());
    }

    [Fact]
    public async Task A_timer_fires_with_its_data_until_the_actor_unregisters_it()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("actors-timer", resources);
        var ct = TestContext.Current.CancellationToken;
        var probe = host.Probe();
        var actor = ActorProxy.Create<ICounterActor>(new ActorId("tm1"), nameof(CounterActor), host.ProxyOptions());

        await actor.StartTimerAsync("beat", 50, 150, "tick");
        await probe.WaitForAsync("timer:tm1:tick", 2, Wait);
        await actor.StopTimerAsync("beat");
        var fired = probe.Count("timer:tm1:tick");
        await Task.Delay(750, ct);

        Assert.Equal(fired, probe.Count("timer:tm1:tick"));
        var tick = host.AppLog.Snapshot().First(r => r.Path == "/actors/CounterActor/tm1/method/timer/beat");
        var body = JsonDocument.Parse(tick.BodyText).RootElement;
        Assert.Equal(nameof(CounterActor.OnTimerAsync), body.GetProperty("callback").GetString());
        Assert.Equal("0h0m0s50ms", body.GetProperty("dueTime").GetString());
        Assert.Equal("0h0m0s150ms", body.GetProperty("period").GetString());
        Assert.Equal(Convert.ToBase64String("tick"u8), body.GetProperty("data").GetString());
    }

    [Fact]
    public async Task A_reminder_fires_reads_back_through_the_sidecar_and_the_sdk_and_stops_when_deleted()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("actors-reminder", resources);
        var ct = TestContext.Current.CancellationToken;
        var probe = host.Probe();
        using var http = new HttpClient { BaseAddress = new Uri(host.Sidecar.HttpEndpoint) };
        var actor = ActorProxy.Create<ICounterActor>(new ActorId("rm1"), nameof(CounterActor), host.ProxyOptions());

        await actor.StartReminderAsync("nudge", 100, 400, "payload");
        await probe.WaitForAsync("reminder:rm1:nudge:payload", 1, Wait);
        using var got = await http.GetAsync(new Uri("/v1.0/actors/CounterActor/rm1/reminders/nudge", UriKind.Relative), ct);
        var described = await actor.DescribeReminderAsync("nudge");
        using var deleted = await http.DeleteAsync(new Uri("/v1.0/actors/CounterActor/rm1/reminders/nudge", UriKind.Relative), ct);
        var fired = probe.Count("reminder:rm1:nudge:payload");
        using var gone = await http.GetAsync(new Uri("/v1.0/actors/CounterActor/rm1/reminders/nudge", UriKind.Relative), ct);
        await Task.Delay(1000, ct);

        Assert.Equal(HttpStatusCode.OK, got.StatusCode);
        var reminder = JsonDocument.Parse(await got.Content.ReadAsStringAsync(ct)).RootElement;
        Assert.Equal("rm1", reminder.GetProperty("actorID").GetString());
        Assert.Equal("CounterActor", reminder.GetProperty("actorType").GetString());
        Assert.Equal("0h0m0s100ms", reminder.GetProperty("dueTime").GetString());
        Assert.Equal("0h0m0s400ms", reminder.GetProperty("period").GetString());
        Assert.Equal(Convert.ToBase64String("payload"u8), reminder.GetProperty("data").GetString());
        Assert.Equal("nudge due=00:00:00.1000000 period=00:00:00.4000000 data=payload", described);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Equal("ERR_ACTOR_REMINDER_NOT_FOUND", JsonDocument.Parse(await gone.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("errorCode").GetString());
        Assert.Equal(fired, probe.Count("reminder:rm1:nudge:payload"));
    }

    [Fact]
    public async Task A_reminder_without_period_fires_once_and_is_then_gone()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("actors-reminder-once", resources);
        var ct = TestContext.Current.CancellationToken;
        var probe = host.Probe();
        using var http = new HttpClient { BaseAddress = new Uri(host.Sidecar.HttpEndpoint) };
        var actor = ActorProxy.Create<ICounterActor>(new ActorId("once"), nameof(CounterActor), host.ProxyOptions());

        await actor.StartReminderAsync("single", 50, 0, "one");
        await probe.WaitForAsync("reminder:once:single:one", 1, Wait);
        await Task.Delay(500, ct);
        using var gone = await http.GetAsync(new Uri("/v1.0/actors/CounterActor/once/reminders/single", UriKind.Relative), ct);

        Assert.Equal(1, probe.Count("reminder:once:single:one"));
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task An_idle_actor_is_deactivated_its_state_can_no_longer_be_written_and_the_next_call_activates_it_again()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("actors-idle", resources, o =>
        {
            o.ActorIdleTimeout = TimeSpan.FromSeconds(1);
            o.ActorScanInterval = TimeSpan.FromMilliseconds(250);
        });
        var ct = TestContext.Current.CancellationToken;
        var probe = host.Probe();
        using var http = new HttpClient { BaseAddress = new Uri(host.Sidecar.HttpEndpoint) };
        var actor = ActorProxy.Create<ICounterActor>(new ActorId("idle1"), nameof(CounterActor), host.ProxyOptions());

        await actor.EchoAsync("hi");
        var activeBefore = await ActiveCountAsync(host, ct);
        await probe.WaitForAsync("deactivated:idle1", 1, Wait);
        var activeAfter = await Eventually.Until(() => ActiveCountAsync(host, ct), n => n == 0, Wait, "no active CounterActor left");
        using var write = await http.PutAsync(
            new Uri("/v1.0/actors/CounterActor/idle1/state", UriKind.Relative), new StringContent("""[{"operation":"upsert","request":{"key":"k","value":1}}]"""), ct);
        await actor.EchoAsync("again");

        Assert.Equal(1, activeBefore);
        Assert.Equal(0, activeAfter);
        Assert.Single(host.AppLog.Snapshot(), r => r.Method == "DELETE" && r.Path == "/actors/CounterActor/idle1");
        Assert.Equal(HttpStatusCode.BadRequest, write.StatusCode);
        Assert.Equal(2, probe.Count("activated:idle1"));
    }

    [Fact]
    public async Task Stopping_the_sidecar_deactivates_every_active_actor()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("actors-shutdown", resources);
        var probe = host.Probe();

        await ActorProxy.Create<ICounterActor>(new ActorId("sd1"), nameof(CounterActor), host.ProxyOptions()).EchoAsync("a");
        await ActorProxy.Create<ICounterActor>(new ActorId("sd2"), nameof(CounterActor), host.ProxyOptions()).EchoAsync("b");
        await host.Sidecar.StopAsync();

        Assert.Equal(1, probe.Count("deactivated:sd1"));
        Assert.Equal(1, probe.Count("deactivated:sd2"));
    }

    private static async Task<int> ActiveCountAsync(DaprTestHost host, CancellationToken ct)
    {
        var metadata = await host.Client.GetMetadataAsync(ct);
        return metadata.Actors.Where(a => a.Type == nameof(CounterActor)).Sum(a => a.Count);
    }
}
