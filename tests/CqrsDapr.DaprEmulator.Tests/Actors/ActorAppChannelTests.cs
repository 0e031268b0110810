using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using CqrsDapr.DaprEmulator.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace CqrsDapr.DaprEmulator.Tests.Actors;

/// <summary>
/// The sidecar ↔ app actor contract byte for byte, against an app that implements the actor protocol by hand (no
/// actors SDK), so each daprd rule is visible: what is forwarded, what is relayed, how app failures are reported.
/// </summary>
public sealed class ActorAppChannelTests
{
    private const string ActorType = "RawActor";

    // Shared by all tests of this class; every test uses its own actor ids and groups.
    private static readonly ConcurrentDictionary<string, int> Counters = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, Concurrency> Running = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, DateTimeOffset> HoldEnded = new(StringComparer.Ordinal);

    private static Resources ActorStore() =>
        new Resources().Component("actorstore", "state.in-memory", new Dictionary<string, string> { ["actorStateStore"] = "true" });

    /// <summary>An app hosting <see cref="ActorType"/> by hand; <paramref name="config"/> is its /dapr/config body.</summary>
    private static Task<DaprTestHost> StartAsync(string appId, Resources resources, string? config = null) =>
        DaprTestHost.StartAsync(appId, resources, configureApp: app =>
        {
            app.MapGet("/dapr/config", () => Results.Text(config ?? Config(reentrancy: false), "application/json"));
            app.MapPut("/actors/{type}/{id}/method/{method}", RespondAsync);
            app.MapPut("/actors/{type}/{id}/method/timer/{name}", (HttpContext context, string name) => Tick(context, name));
            app.MapPut("/actors/{type}/{id}/method/remind/{name}", (HttpContext context, string name) => Tick(context, name));
            app.MapDelete("/actors/{type}/{id}", () => Results.Ok());
        });

    private static string Config(bool reentrancy, int maxStackDepth = 32, string extra = "") =>
        "{\"entities\":[\"" + ActorType + "\"]" + extra + ",\"reentrancy\":{\"enabled\":" + (reentrancy ? "true" : "false") + ",\"maxStackDepth\":" + maxStackDepth + "}}";

    private static async Task<IResult> RespondAsync(HttpContext context, string id, string method)
    {
        switch (method)
        {
            case "count":
                {
                    // Read, yield, write: loses increments unless the sidecar gives each call its own turn.
                    var seen = Counters.GetOrAdd(id, 0);
                    await Task.Delay(10, context.RequestAborted);
                    Counters[id] = seen + 1;
                    return Results.Text((seen + 1).ToString(CultureInfo.InvariantCulture), "text/plain");
                }

            case "hold":
                {
                    var group = Running.GetOrAdd(context.Request.Query["group"].ToString(), _ => new Concurrency());
                    group.Enter();
                    try
                    {
                        await Task.Delay(int.Parse(context.Request.Query["ms"].ToString(), CultureInfo.InvariantCulture), context.RequestAborted);
                        HoldEnded[id] = DateTimeOffset.UtcNow;
                    }
                    finally
                    {
                        group.Leave();
                    }

                    return Results.Ok();
                }

            case "ok":
                context.Response.Headers["X-Custom"] = "from-app";
                return Results.Text("ok-body", "text/plain");
            case "missing":
                return Results.NotFound();
            case "down":
                return Results.Text("app is down", "text/plain", statusCode: 503);
            case "actorerror":
                context.Response.Headers["X-DaprErrorResponseHeader"] = "remoting-header";
                return Results.Bytes("remoting-exception"u8.ToArray());
            case "nest":
                // A nested call back into the same actor, carrying the reentrancy id this call received.
                using (var http = new HttpClient())
                using (var request = new HttpRequestMessage(HttpMethod.Put, new Uri($"{context.RequestServices.GetRequiredService<Sidecars>().HttpEndpoint}/v1.0/actors/{ActorType}/{id}/method/ok")))
                {
                    request.Headers.Add("Dapr-Reentrancy-Id", context.Request.Headers["Dapr-Reentrancy-Id"].ToString());
                    using var nested = await http.SendAsync(request, context.RequestAborted);
                    return Results.Text($"{(int)nested.StatusCode}:{await nested.Content.ReadAsStringAsync(context.RequestAborted)}", "text/plain");
                }

            default:
                return Results.Ok();
        }
    }

    private sealed class Concurrency
    {
        private int now;
        private int max;

        public int Max => Volatile.Read(ref max);

        public void Enter()
        {
            var current = Interlocked.Increment(ref now);
            int seen;
            while (current > (seen = Volatile.Read(ref max)) && Interlocked.CompareExchange(ref max, current, seen) != seen)
            {
            }
        }

        public void Leave() => Interlocked.Decrement(ref now);
    }

    /// <summary>Timer and reminder callbacks; those named "cancel…" ask the sidecar to stop them.</summary>
    private static IResult Tick(HttpContext context, string name)
    {
        if (name.StartsWith("cancel", StringComparison.Ordinal))
        {
            context.Response.Headers["X-DaprReminderCancel"] = "true";
        }

        return Results.Ok();
    }

    [Fact]
    public async Task Concurrent_calls_to_one_actor_take_turns_so_a_read_yield_write_counter_loses_no_increment()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("raw-turns", resources);
        using var http = new HttpClient { BaseAddress = new Uri(host.Sidecar.HttpEndpoint) };
        const int calls = 30;

        var results = await Task.WhenAll(Enumerable.Range(0, calls).Select(async _ =>
        {
            using var response = await http.PutAsync(new Uri($"/v1.0/actors/{ActorType}/turns/method/count", UriKind.Relative), null, TestContext.Current.CancellationToken);
            return int.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), CultureInfo.InvariantCulture);
        }));

        Assert.Equal(calls, Counters["turns"]);
        Assert.Equal(Enumerable.Range(1, calls), results.Order());
    }

    [Fact]
    public async Task Calls_to_one_actor_never_overlap_while_calls_to_different_actors_do()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("raw-overlap", resources);
        using var http = new HttpClient { BaseAddress = new Uri(host.Sidecar.HttpEndpoint) };

        Task Hold(string id, string group) => http.PutAsync(new Uri($"/v1.0/actors/{ActorType}/{id}/method/hold?ms=300&group={group}", UriKind.Relative), null, TestContext.Current.CancellationToken);
        await Task.WhenAll(Hold("same", "same-actor"), Hold("same", "same-actor"), Hold("same", "same-actor"));
        await Task.WhenAll(Hold("one", "two-actors"), Hold("two", "two-actors"));

        Assert.Equal(1, Running["same-actor"].Max);
        Assert.Equal(2, Running["two-actors"].Max);
    }

    [Fact]
    public async Task An_idle_actor_busy_in_a_long_call_is_deactivated_only_after_the_call_ends()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("raw-idle-busy", resources, Config(false, extra: ",\"actorIdleTimeout\":\"300ms\",\"actorScanInterval\":\"100ms\""));
        using var http = new HttpClient { BaseAddress = new Uri(host.Sidecar.HttpEndpoint) };

        // Idle 300 ms after the call took its turn, while the call holds the turn for 1.2 s.
        using var response = await http.PutAsync(new Uri($"/v1.0/actors/{ActorType}/busy/method/hold?ms=1200&group=busy", UriKind.Relative), null, TestContext.Current.CancellationToken);
        var log = await host.App!.WaitForAsync($"/actors/{ActorType}/busy", 1, TimeSpan.FromSeconds(10));

        var deactivation = Assert.Single(log, r => r.Path == $"/actors/{ActorType}/busy");
        Assert.Equal("DELETE", deactivation.Method);
        Assert.True(deactivation.At >= HoldEnded["busy"], $"DELETE at {deactivation.At:O} came before the call ended at {HoldEnded["busy"]:O}");
    }

    [Fact]
    public async Task On_shutdown_an_actor_still_busy_after_the_drain_timeout_is_deactivated_anyway()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("raw-drain", resources, Config(false, extra: ",\"drainOngoingCallTimeout\":\"500ms\""));
        using var http = new HttpClient { BaseAddress = new Uri(host.Sidecar.HttpEndpoint) };

        var busy = http.PutAsync(new Uri($"/v1.0/actors/{ActorType}/drain/method/hold?ms=4000&group=drain", UriKind.Relative), null, TestContext.Current.CancellationToken);
        await host.App!.WaitForAsync($"/actors/{ActorType}/drain/method/hold", 1, TimeSpan.FromSeconds(10));
        var stopping = DateTimeOffset.UtcNow;
        var stopped = host.Sidecar.StopAsync();
        var log = await host.App.WaitForAsync($"/actors/{ActorType}/drain", 1, TimeSpan.FromSeconds(10));
        await stopped;
        (await busy).Dispose(); // The sidecar still answers the call it was relaying when it stopped.

        var deactivation = Assert.Single(log, r => r.Path == $"/actors/{ActorType}/drain");
        Assert.Equal("DELETE", deactivation.Method);
        Assert.InRange((deactivation.At - stopping).TotalMilliseconds, 400, 3000);
        Assert.True(deactivation.At < HoldEnded["drain"], "the busy call was still running when the actor was deactivated");
    }

    [Fact]
    public async Task The_call_reaches_the_app_as_a_put_with_body_content_type_query_and_headers_and_the_answer_is_relayed()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("raw-relay", resources);
        var ct = TestContext.Current.CancellationToken;
        using var http = new HttpClient { BaseAddress = new Uri(host.Sidecar.HttpEndpoint) };

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/v1.0/actors/{ActorType}/a1/method/ok?x=1", UriKind.Relative))
        {
            Content = new StringContent("<order/>", Encoding.UTF8, "application/xml"),
        };
        request.Headers.Add("X-Trace-Me", "abc");
        using var response = await http.SendAsync(request, ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.ToString());
        Assert.Equal("from-app", response.Headers.GetValues("X-Custom").Single());
        Assert.Equal("ok-body", await response.Content.ReadAsStringAsync(ct));
        var call = Assert.Single(host.AppLog.Snapshot(), r => r.Path == $"/actors/{ActorType}/a1/method/ok");
        Assert.Equal("PUT", call.Method);
        Assert.Equal("application/xml; charset=utf-8", call.ContentType);
        Assert.Equal("<order/>", call.BodyText);
        Assert.Equal("abc", call.Headers["X-Trace-Me"]);
        Assert.Equal("true", call.Headers["Dapr-API-Call"]);
        Assert.False(call.Headers.ContainsKey("Dapr-Reentrancy-Id"), "no reentrancy id is made up when reentrancy is off");
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("DELETE")]
    [InlineData("PUT")]
    public async Task Every_verb_the_sidecar_accepts_reaches_the_app_as_put(string verb)
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("raw-verbs-" + verb.ToLowerInvariant(), resources);
        var ct = TestContext.Current.CancellationToken;
        using var http = new HttpClient { BaseAddress = new Uri(host.Sidecar.HttpEndpoint) };

        using var response = await http.SendAsync(new HttpRequestMessage(new HttpMethod(verb), new Uri($"/v1.0/actors/{ActorType}/v1/method/ok", UriKind.Relative)), ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("PUT", Assert.Single(host.AppLog.Snapshot(), r => r.Path == $"/actors/{ActorType}/v1/method/ok").Method);
    }

    [Fact]
    public async Task An_app_404_is_reported_as_actor_method_not_found()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("raw-404", resources);

        var (status, error) = await PutAsync(host, $"/v1.0/actors/{ActorType}/n1/method/missing");

        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Equal("ERR_ACTOR_INVOKE_METHOD", error.GetProperty("errorCode").GetString());
        Assert.Equal($"error invoke actor method: actor method not found: actors/{ActorType}/n1/method/missing", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Any_other_app_failure_is_reported_with_its_status_and_body()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("raw-503", resources);

        var (status, error) = await PutAsync(host, $"/v1.0/actors/{ActorType}/d1/method/down");

        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Equal("ERR_ACTOR_INVOKE_METHOD", error.GetProperty("errorCode").GetString());
        Assert.Equal("error invoke actor method: error from actor service: (503) app is down", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task An_actor_error_signalled_by_the_error_response_header_is_relayed_unchanged()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("raw-actor-error", resources);
        var ct = TestContext.Current.CancellationToken;
        using var http = new HttpClient { BaseAddress = new Uri(host.Sidecar.HttpEndpoint) };

        using var response = await http.PutAsync(new Uri($"/v1.0/actors/{ActorType}/x1/method/actorerror", UriKind.Relative), null, ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("remoting-header", response.Headers.GetValues("X-DaprErrorResponseHeader").Single());
        Assert.Equal("remoting-exception", await response.Content.ReadAsStringAsync(ct));
    }

    [Fact]
    public async Task With_reentrancy_the_sidecar_makes_up_a_reentrancy_id_and_a_nested_call_with_it_re_enters_the_actor()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("raw-reentrant", resources, Config(reentrancy: true, maxStackDepth: 32));
        var ct = TestContext.Current.CancellationToken;
        using var http = new HttpClient { BaseAddress = new Uri(host.Sidecar.HttpEndpoint) };

        // Without reentrancy the nested call would wait for the outer call's turn forever.
        using var response = await http.PutAsync(new Uri($"/v1.0/actors/{ActorType}/re1/method/nest", UriKind.Relative), null, ct).WaitAsync(TimeSpan.FromSeconds(10), ct);

        Assert.Equal("200:ok-body", await response.Content.ReadAsStringAsync(ct));
        var outer = Assert.Single(host.AppLog.Snapshot(), r => r.Path == $"/actors/{ActorType}/re1/method/nest");
        var inner = Assert.Single(host.AppLog.Snapshot(), r => r.Path == $"/actors/{ActorType}/re1/method/ok");
        Assert.True(Guid.TryParse(outer.Headers["Dapr-Reentrancy-Id"], out _), "daprd generates a UUID when the caller sent none");
        Assert.Equal(outer.Headers["Dapr-Reentrancy-Id"], inner.Headers["Dapr-Reentrancy-Id"]);
    }

    [Fact]
    public async Task Re_entering_deeper_than_max_stack_depth_fails_with_err_actor_stack_depth()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("raw-depth", resources, Config(reentrancy: true, maxStackDepth: 1));
        var ct = TestContext.Current.CancellationToken;
        using var http = new HttpClient { BaseAddress = new Uri(host.Sidecar.HttpEndpoint) };

        using var response = await http.PutAsync(new Uri($"/v1.0/actors/{ActorType}/deep/method/nest", UriKind.Relative), null, ct).WaitAsync(TimeSpan.FromSeconds(10), ct);

        var text = await response.Content.ReadAsStringAsync(ct);
        Assert.StartsWith("500:", text, StringComparison.Ordinal);
        var error = JsonDocument.Parse(text[4..]).RootElement;
        Assert.Equal("ERR_ACTOR_STACK_DEPTH", error.GetProperty("errorCode").GetString());
        Assert.Equal("maximum stack depth exceeded", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_timer_fires_with_daprds_callback_body_and_stops_when_the_app_answers_reminder_cancel()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("raw-timer", resources);
        var ct = TestContext.Current.CancellationToken;
        var path = $"/actors/{ActorType}/c1/method/timer/cancel1";

        var (status, _) = await PutAsync(host, $"/v1.0/actors/{ActorType}/c1/timers/cancel1", """{"dueTime":"0s","period":"100ms","callback":"cb","data":{"a":1}}""");
        var ticks = await host.App!.WaitForAsync(path, 1, TimeSpan.FromSeconds(10));
        await Task.Delay(600, ct);

        Assert.Equal(HttpStatusCode.NoContent, status);
        var tick = Assert.Single(host.AppLog.Snapshot(), r => r.Path == path);
        Assert.Equal("PUT", tick.Method);
        Assert.Equal("""{"data":{"a":1},"callback":"cb","dueTime":"0s","period":"100ms"}""", tick.BodyText);
        Assert.Single(ticks, r => r.Path == path);
    }

    [Fact]
    public async Task A_timer_stops_at_its_ttl_and_one_with_repetitions_after_the_last_one()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("raw-timer-ttl", resources);
        var ct = TestContext.Current.CancellationToken;

        await PutAsync(host, $"/v1.0/actors/{ActorType}/ttl1/timers/ttl", """{"dueTime":"0s","period":"100ms","ttl":"450ms"}""");
        await PutAsync(host, $"/v1.0/actors/{ActorType}/ttl1/timers/reps", """{"dueTime":"PT0S","period":"R3/PT0S"}""");
        await PutAsync(host, $"/v1.0/actors/{ActorType}/ttl1/timers/reps2", """{"period":"R2/PT1S"}""");
        await Task.Delay(2000, ct);

        var ticks = host.AppLog.Snapshot().Where(r => r.Path.StartsWith($"/actors/{ActorType}/ttl1/method/timer/", StringComparison.Ordinal)).GroupBy(r => r.Path[(r.Path.LastIndexOf('/') + 1)..]).ToDictionary(g => g.Key, g => g.Count());
        Assert.InRange(ticks["ttl"], 4, 5); // at 0, 100, 200, 300, 400 ms (the tick due at the TTL itself does not fire)
        Assert.Equal(1, ticks["reps"]); // a zero period has no repeats, whatever R says
        Assert.Equal(2, ticks["reps2"]);
    }

    [Fact]
    public async Task A_reminder_whose_callback_answers_reminder_cancel_is_deleted()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("raw-reminder-cancel", resources);
        var ct = TestContext.Current.CancellationToken;
        var path = $"/actors/{ActorType}/rc1/method/remind/cancel1";

        var (created, _) = await PutAsync(host, $"/v1.0/actors/{ActorType}/rc1/reminders/cancel1", """{"dueTime":"PT0S","period":"R10/PT1S","data":"aGk="}""");
        await host.App!.WaitForAsync(path, 1, TimeSpan.FromSeconds(10));
        await Task.Delay(1500, ct);
        using var http = new HttpClient { BaseAddress = new Uri(host.Sidecar.HttpEndpoint) };
        using var afterCancel = await http.GetAsync(new Uri($"/v1.0/actors/{ActorType}/rc1/reminders/cancel1", UriKind.Relative), ct);

        Assert.Equal(HttpStatusCode.NoContent, created);
        var tick = Assert.Single(host.AppLog.Snapshot(), r => r.Path == path);
        Assert.Equal("""{"data":"aGk=","dueTime":"PT0S","period":"R10/PT1S"}""", tick.BodyText);
        Assert.Equal(HttpStatusCode.NotFound, afterCancel.StatusCode);
    }

    [Theory]
    [InlineData("""{"period":"PT0.5S"}""", "error creating actor reminder: invalid reminder period: parse error: unsupported duration format: PT0.5S")]
    [InlineData("""{"period":"R0/PT1S"}""", "error creating actor reminder: invalid reminder period: has zero repetitions")]
    [InlineData("""{"dueTime":"soon"}""", "error creating actor reminder: error parsing reminder due time: unsupported time/duration format: soon")]
    public async Task A_reminder_with_an_unreadable_schedule_is_rejected_with_daprds_message(string body, string message)
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("raw-reminder-invalid", resources);

        var (status, error) = await PutAsync(host, $"/v1.0/actors/{ActorType}/bad/reminders/r1", body);

        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Equal("ERR_ACTOR_REMINDER_CREATE", error.GetProperty("errorCode").GetString());
        Assert.Equal(message, error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Reminders_for_an_actor_type_the_app_does_not_host_are_refused()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("raw-reminder-foreign", resources);

        var (status, error) = await PutAsync(host, "/v1.0/actors/OtherActor/o1/reminders/r1", """{"dueTime":"1s"}""");

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("ERR_ACTOR_REMINDER_NON_HOSTED", error.GetProperty("errorCode").GetString());
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> PutAsync(DaprTestHost host, string path, string? json = null)
    {
        using var http = new HttpClient { BaseAddress = new Uri(host.Sidecar.HttpEndpoint) };
        using var content = json is null ? null : new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await http.PutAsync(new Uri(path, UriKind.Relative), content, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return (response.StatusCode, text.Length > 0 && text[0] == '{' ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }
}
