using System.Net;
using System.Security.Authentication;
using System.Text.Json;
using CqrsDapr.DaprEmulator.Tests.Infrastructure;
using Dapr;
using Dapr.Actors;
using Dapr.Actors.Client;
using Microsoft.AspNetCore.Builder;

namespace CqrsDapr.DaprEmulator.Tests.Actors;

public sealed class ActorInvocationTests
{
    private static Resources ActorStore() =>
        new Resources().Component("actorstore", "state.in-memory", new Dictionary<string, string> { ["actorStateStore"] = "true" });

    private static Task<DaprTestHost> StartAsync(string appId, Resources resources, string? apiToken = null) =>
        DaprTestHost.StartAsync(appId, resources, s => s.AddTestActors(), app => app.MapActorsHandlers(), apiToken: apiToken);

    [Fact]
    public async Task A_remoting_proxy_call_reaches_the_actor_through_the_sidecar_and_returns_its_result()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("actors-remoting", resources);

        var actor = ActorProxy.Create<ICounterActor>(new ActorId("r1"), nameof(CounterActor), host.ProxyOptions());
        var echoed = await actor.EchoAsync("hello");

        Assert.Equal("r1:hello", echoed);
        var call = Assert.Single(host.AppLog.Snapshot(), r => r.Path == "/actors/CounterActor/r1/method/EchoAsync");
        Assert.Equal("PUT", call.Method);
        Assert.True(call.Headers.ContainsKey("X-DaprRequestHeader"), "remoting header forwarded to the app");
        Assert.Equal("true", call.Headers.GetValueOrDefault("Dapr-API-Call"));
        Assert.Equal(1, host.Probe().Count("activated:r1"));
    }

    [Fact]
    public async Task A_non_remoting_proxy_call_sends_json_and_gets_json_back()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("actors-json", resources);
        var ct = TestContext.Current.CancellationToken;

        var actor = ActorProxy.Create(new ActorId("j1"), nameof(CounterActor), host.ProxyOptions());
        var echoed = await actor.InvokeMethodAsync<string, string>(nameof(ICounterActor.EchoAsync), "json", ct);

        Assert.Equal("j1:json", echoed);
        var call = Assert.Single(host.AppLog.Snapshot(), r => r.Path == "/actors/CounterActor/j1/method/EchoAsync");
        Assert.StartsWith("application/json", call.ContentType, StringComparison.Ordinal);
        Assert.Equal("\"json\"", call.BodyText);
        Assert.False(call.Headers.ContainsKey("X-DaprRequestHeader"));
    }

    /// <remarks>
    /// The .NET SDK (1.19) also serializes calls per actor in the app, so this cannot prove the sidecar's turn lock;
    /// <see cref="ActorAppChannelTests"/> does, against an app without the SDK.
    /// </remarks>
    [Fact]
    public async Task Concurrent_sdk_calls_to_one_actor_all_complete_one_at_a_time()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("actors-turns", resources);
        const int calls = 25;

        var actor = ActorProxy.Create<ICounterActor>(new ActorId("turns"), nameof(CounterActor), host.ProxyOptions());
        await Task.WhenAll(Enumerable.Range(0, calls).Select(_ => actor.IncrementAsync()));

        Assert.Equal(calls, await actor.GetCountAsync());
        Assert.Equal(1, host.Probe().MaxConcurrent);
    }

    [Fact]
    public async Task Different_actors_run_at_the_same_time()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("actors-parallel", resources);

        var first = ActorProxy.Create<ICounterActor>(new ActorId("p1"), nameof(CounterActor), host.ProxyOptions());
        var second = ActorProxy.Create<ICounterActor>(new ActorId("p2"), nameof(CounterActor), host.ProxyOptions());
        await Task.WhenAll(first.HoldAsync(400), second.HoldAsync(400));

        Assert.Equal(2, host.Probe().MaxConcurrent);
    }

    [Fact]
    public async Task An_exception_in_a_remoting_call_reaches_the_caller_through_the_error_response_header()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("actors-remote-error", resources);

        var actor = ActorProxy.Create<ICounterActor>(new ActorId("e1"), nameof(CounterActor), host.ProxyOptions());
        var error = await Assert.ThrowsAsync<ActorMethodInvocationException>(() => actor.FailAsync("boom"));

        Assert.Contains("boom", error.InnerException?.Message ?? error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Calling_an_actor_type_the_app_does_not_host_fails_with_an_error_that_names_placement()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("actors-unknown", resources);
        var ct = TestContext.Current.CancellationToken;

        var proxy = ActorProxy.Create(new ActorId("x"), "NoSuchActor", host.ProxyOptions());
        var error = await Assert.ThrowsAsync<DaprApiException>(() => proxy.InvokeMethodAsync<string>("Anything", ct));

        Assert.Equal("ERR_ACTOR_INVOKE_METHOD", error.ErrorCode);
        Assert.Contains("did not find address for actor NoSuchActor/x", error.Message, StringComparison.Ordinal);
        Assert.Contains("placement", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(host.AppLog.Snapshot(), r => r.Path.StartsWith("/actors/NoSuchActor", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_method_the_actor_does_not_have_is_reported_as_an_invocation_error()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("actors-no-method", resources);
        var ct = TestContext.Current.CancellationToken;
        using var http = new HttpClient { BaseAddress = new Uri(host.Sidecar.HttpEndpoint) };

        using var response = await http.PutAsync(new Uri("/v1.0/actors/CounterActor/m1/method/NoSuchMethod", UriKind.Relative), new StringContent("{}"), ct);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)).RootElement;
        Assert.Equal("ERR_ACTOR_INVOKE_METHOD", body.GetProperty("errorCode").GetString());
        Assert.StartsWith("error invoke actor method: error from actor service: (500)", body.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_an_api_token_actor_calls_without_it_are_rejected_and_calls_with_it_work()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("actors-token", resources, apiToken: "actor-secret");
        var ct = TestContext.Current.CancellationToken;

        var withoutToken = ActorProxy.Create(new ActorId("t1"), nameof(CounterActor), new ActorProxyOptions { HttpEndpoint = host.Sidecar.HttpEndpoint });
        // The actors SDK turns the sidecar's 401 into an AuthenticationException.
        await Assert.ThrowsAsync<AuthenticationException>(() => withoutToken.InvokeMethodAsync<string, string>(nameof(ICounterActor.EchoAsync), "a", ct));
        var withToken = ActorProxy.Create(new ActorId("t1"), nameof(CounterActor), host.ProxyOptions());
        var echoed = await withToken.InvokeMethodAsync<string, string>(nameof(ICounterActor.EchoAsync), "b", ct);

        Assert.Equal("t1:b", echoed);
        Assert.Single(host.AppLog.Snapshot(), r => r.Path == "/actors/CounterActor/t1/method/EchoAsync");
        Assert.DoesNotContain(host.AppLog.Snapshot(), r => r.Headers.ContainsKey("dapr-api-token"));
    }
}
