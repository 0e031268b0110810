using System.Net;
using System.Text;
using System.Text.Json;
using CqrsDapr.DaprEmulator.Tests.Infrastructure;
using Dapr.Actors;
using Dapr.Actors.Client;
using Microsoft.AspNetCore.Builder;

namespace CqrsDapr.DaprEmulator.Tests.Actors;

public sealed class ActorStateTests
{
    private static Resources ActorStore() =>
        new Resources().Component("actorstore", "state.in-memory", new Dictionary<string, string> { ["actorStateStore"] = "true" });

    private static Task<DaprTestHost> StartAsync(string appId, Resources resources, string? configPath = null) =>
        DaprTestHost.StartAsync(appId, resources, s => s.AddTestActors(), app => app.MapActorsHandlers(), configPath: configPath);

    [Fact]
    public async Task State_saved_through_the_state_manager_reads_back_as_raw_json_and_a_missing_key_is_204()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("actor-state-read", resources);
        var ct = TestContext.Current.CancellationToken;
        using var http = new HttpClient { BaseAddress = new Uri(host.Sidecar.HttpEndpoint) };

        var actor = ActorProxy.Create<ICounterActor>(new ActorId("s1"), nameof(CounterActor), host.ProxyOptions());
        await actor.SaveAsync("color", "blue");
        using var found = await http.GetAsync(new Uri("/v1.0/actors/CounterActor/s1/state/color", UriKind.Relative), ct);
        using var missing = await http.GetAsync(new Uri("/v1.0/actors/CounterActor/s1/state/size", UriKind.Relative), ct);

        Assert.Equal(HttpStatusCode.OK, found.StatusCode);
        Assert.Equal("application/json", found.Content.Headers.ContentType?.MediaType);
        Assert.Equal("\"blue\"", await found.Content.ReadAsStringAsync(ct));
        Assert.Equal(HttpStatusCode.NoContent, missing.StatusCode);
        var save = Assert.Single(host.AppLog.Snapshot(), r => r.Path == "/actors/CounterActor/s1/method/SaveAsync");
        Assert.Equal("PUT", save.Method);
    }

    [Fact]
    public async Task Writing_state_for_an_actor_that_is_not_active_on_this_sidecar_is_a_400()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("actor-state-inactive", resources);
        var ct = TestContext.Current.CancellationToken;

        var (status, error) = await SaveStateAsync(host, "never-called", """[{"operation":"upsert","request":{"key":"k","value":1}}]""", ct);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("ERR_ACTOR_INSTANCE_MISSING", error.GetProperty("errorCode").GetString());
        Assert.Equal("actor instance is missing", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Upserts_and_deletes_of_an_active_actor_apply_together()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("actor-state-tx", resources);
        var ct = TestContext.Current.CancellationToken;
        using var http = new HttpClient { BaseAddress = new Uri(host.Sidecar.HttpEndpoint) };
        var actor = ActorProxy.Create<ICounterActor>(new ActorId("tx1"), nameof(CounterActor), host.ProxyOptions());
        await actor.SaveAsync("old", "x");

        var (status, _) = await SaveStateAsync(
            host, "tx1", """[{"operation":"upsert","request":{"key":"new","value":{"n":1}}},{"operation":"delete","request":{"key":"old"}}]""", ct);
        using var added = await http.GetAsync(new Uri("/v1.0/actors/CounterActor/tx1/state/new", UriKind.Relative), ct);
        using var removed = await http.GetAsync(new Uri("/v1.0/actors/CounterActor/tx1/state/old", UriKind.Relative), ct);

        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.Equal("""{"n":1}""", await added.Content.ReadAsStringAsync(ct));
        Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
    }

    [Fact]
    public async Task Ttl_on_actor_state_needs_the_actor_state_ttl_feature()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("actor-state-ttl-off", resources);
        var ct = TestContext.Current.CancellationToken;
        await ActorProxy.Create<ICounterActor>(new ActorId("ttl"), nameof(CounterActor), host.ProxyOptions()).EchoAsync("activate");

        var (status, error) = await SaveStateAsync(host, "ttl", """[{"operation":"upsert","request":{"key":"k","value":1,"metadata":{"ttlInSeconds":"60"}}}]""", ct);

        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Equal("ERR_ACTOR_STATE_TRANSACTION_SAVE", error.GetProperty("errorCode").GetString());
        Assert.Equal("error saving actor transaction state: ttlInSeconds is not supported without the \"ActorStateTTL\" feature enabled", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task With_the_actor_state_ttl_feature_state_expires_and_reports_its_expiry()
    {
        using var resources = ActorStore();
        var config = Path.Combine(resources.Path, "..", $"config-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(config, """
            apiVersion: dapr.io/v1alpha1
            kind: Configuration
            metadata:
              name: actorttl
            spec:
              features:
              - name: ActorStateTTL
                enabled: true
            """, TestContext.Current.CancellationToken);
        try
        {
            await using var host = await StartAsync("actor-state-ttl-on", resources, config);
            var ct = TestContext.Current.CancellationToken;
            using var http = new HttpClient { BaseAddress = new Uri(host.Sidecar.HttpEndpoint) };
            await ActorProxy.Create<ICounterActor>(new ActorId("ttl2"), nameof(CounterActor), host.ProxyOptions()).EchoAsync("activate");

            var (status, _) = await SaveStateAsync(host, "ttl2", """[{"operation":"upsert","request":{"key":"k","value":1,"metadata":{"ttlInSeconds":"1"}}}]""", ct);
            using var before = await http.GetAsync(new Uri("/v1.0/actors/CounterActor/ttl2/state/k", UriKind.Relative), ct);
            await Task.Delay(1500, ct);
            using var after = await http.GetAsync(new Uri("/v1.0/actors/CounterActor/ttl2/state/k", UriKind.Relative), ct);

            Assert.Equal(HttpStatusCode.NoContent, status);
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
            Assert.True(before.Headers.Contains("metadata.ttlExpireTime"));
            Assert.Equal(HttpStatusCode.NoContent, after.StatusCode);
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public async Task A_state_body_that_is_not_a_json_array_is_a_malformed_request()
    {
        using var resources = ActorStore();
        await using var host = await StartAsync("actor-state-malformed", resources);

        var (status, error) = await SaveStateAsync(host, "m1", """{"operation":"upsert"}""", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("ERR_MALFORMED_REQUEST", error.GetProperty("errorCode").GetString());
    }

    [Fact]
    public async Task Without_an_actor_state_store_state_calls_fail_with_actor_runtime_not_found_and_invocations_with_not_hosted()
    {
        using var resources = new Resources().Component("plainstore", "state.in-memory");
        await using var host = await StartAsync("actor-no-store", resources);
        var ct = TestContext.Current.CancellationToken;
        using var http = new HttpClient { BaseAddress = new Uri(host.Sidecar.HttpEndpoint) };

        using var state = await http.GetAsync(new Uri("/v1.0/actors/CounterActor/n1/state/k", UriKind.Relative), ct);
        var invoke = await Assert.ThrowsAsync<Dapr.DaprApiException>(
            () => ActorProxy.Create(new ActorId("n1"), nameof(CounterActor), host.ProxyOptions()).InvokeMethodAsync<string, string>(nameof(ICounterActor.EchoAsync), "x", ct));

        Assert.Equal(HttpStatusCode.InternalServerError, state.StatusCode);
        Assert.Equal("ERR_ACTOR_RUNTIME_NOT_FOUND", JsonDocument.Parse(await state.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("errorCode").GetString());
        Assert.Equal("ERR_ACTOR_INVOKE_METHOD", invoke.ErrorCode);
        Assert.Contains("actorStateStore", invoke.Message, StringComparison.Ordinal);
        Assert.Contains(host.Sidecar.Logs, l => l.Contains("actors: state store does not exist or incorrectly configured", StringComparison.Ordinal));
    }

    private static async Task<(HttpStatusCode Status, JsonElement Error)> SaveStateAsync(DaprTestHost host, string actorId, string json, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = new Uri(host.Sidecar.HttpEndpoint) };
        using var response = await http.PutAsync(new Uri($"/v1.0/actors/CounterActor/{actorId}/state", UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json"), ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        return (response.StatusCode, text.Length > 0 ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }
}
