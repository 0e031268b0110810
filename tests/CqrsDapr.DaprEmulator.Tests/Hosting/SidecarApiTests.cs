using System.Net;
using System.Text.Json;
using CqrsDapr.DaprEmulator.Tests.Infrastructure;
using CqrsDapr.TestSupport;
using Dapr;
using Dapr.Client;
using Grpc.Core;

namespace CqrsDapr.DaprEmulator.Tests.Hosting;

public sealed class SidecarApiTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task With_an_api_token_every_http_call_but_health_needs_the_token()
    {
        using var resources = new Resources().Component("store", "state.in-memory");
        await using var host = await DaprTestHost.StartAsync("token-http", resources, withApp: false, apiToken: "s3cret");
        using var http = new HttpClient { BaseAddress = new Uri(host.Sidecar.HttpEndpoint) };

        using var anonymous = await http.GetAsync(new Uri("/v1.0/state/store/k", UriKind.Relative), Ct);
        using var wrong = new HttpRequestMessage(HttpMethod.Get, "/v1.0/state/store/k") { Headers = { { "dapr-api-token", "nope" } } };
        using var wrongResponse = await http.SendAsync(wrong, Ct);
        using var right = new HttpRequestMessage(HttpMethod.Get, "/v1.0/state/store/k") { Headers = { { "dapr-api-token", "s3cret" } } };
        using var rightResponse = await http.SendAsync(right, Ct);
        using var health = await http.GetAsync(new Uri("/v1.0/healthz", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongResponse.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, rightResponse.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, health.StatusCode);
    }

    [Fact]
    public async Task With_an_api_token_grpc_calls_without_it_are_unauthenticated()
    {
        using var resources = new Resources().Component("store", "state.in-memory");
        await using var host = await DaprTestHost.StartAsync("token-grpc", resources, withApp: false, apiToken: "s3cret");
        using var anonymous = new DaprClientBuilder().UseGrpcEndpoint(host.Sidecar.GrpcEndpoint).UseHttpEndpoint(host.Sidecar.HttpEndpoint).Build();

        var error = await Assert.ThrowsAsync<DaprException>(() => anonymous.GetStateAsync<string>("store", "k", cancellationToken: Ct));
        await host.Client.SaveStateAsync("store", "k", "v", cancellationToken: Ct);

        Assert.Equal(StatusCode.Unauthenticated, Assert.IsType<RpcException>(error.InnerException).StatusCode);
        Assert.Equal("v", await host.Client.GetStateAsync<string>("store", "k", cancellationToken: Ct));
    }

    [Fact]
    public async Task Grpc_methods_the_emulator_does_not_implement_answer_unimplemented()
    {
        using var resources = new Resources().Component("store", "state.in-memory");
        await using var host = await DaprTestHost.StartAsync("unimplemented", resources, withApp: false);

        var error = await Assert.ThrowsAsync<DaprException>(() => host.Client.InvokeBindingAsync("binding", "create", new { }, cancellationToken: Ct));

        Assert.Equal(StatusCode.Unimplemented, Assert.IsType<RpcException>(error.InnerException).StatusCode);
    }

    [Fact]
    public async Task Http_paths_the_emulator_does_not_implement_answer_501_with_a_message()
    {
        using var resources = new Resources().Component("store", "state.in-memory");
        await using var host = await DaprTestHost.StartAsync("http-501", resources, withApp: false);
        using var http = new HttpClient { BaseAddress = new Uri(host.Sidecar.HttpEndpoint) };

        using var response = await http.PostAsync(new Uri("/v1.0/bindings/x", UriKind.Relative), new StringContent("{}"), Ct);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));

        Assert.Equal(HttpStatusCode.NotImplemented, response.StatusCode);
        Assert.Equal("ERR_NOT_IMPLEMENTED", body.RootElement.GetProperty("errorCode").GetString());
        Assert.Contains("/v1.0/bindings/x", body.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_state_store_and_pubsub_names_get_daprds_errors()
    {
        using var resources = new Resources().Component("store", "state.in-memory").Component("pubsub", "pubsub.in-memory");
        await using var host = await DaprTestHost.StartAsync("unknown-names", resources, withApp: false);
        using var http = new HttpClient { BaseAddress = new Uri(host.Sidecar.HttpEndpoint) };

        var state = await Assert.ThrowsAsync<DaprException>(() => host.Client.GetStateAsync<string>("nostore", "k", cancellationToken: Ct));
        var publish = await Assert.ThrowsAsync<DaprException>(() => host.Client.PublishEventAsync("nopubsub", "t", new { }, Ct));
        using var httpState = await http.GetAsync(new Uri("/v1.0/state/nostore/k", UriKind.Relative), Ct);
        using var httpPublish = await http.PostAsync(new Uri("/v1.0/publish/nopubsub/t", UriKind.Relative), new StringContent("{}"), Ct);

        Assert.Equal(StatusCode.InvalidArgument, Assert.IsType<RpcException>(state.InnerException).StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, Assert.IsType<RpcException>(publish.InnerException).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, httpState.StatusCode);
        Assert.Contains("ERR_STATE_STORE_NOT_FOUND", await httpState.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, httpPublish.StatusCode);
        Assert.Contains("ERR_PUBSUB_NOT_FOUND", await httpPublish.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Healthz_waits_for_the_app_while_outbound_health_does_not()
    {
        using var resources = new Resources().Component("store", "state.in-memory");
        var appPort = FreePort.Next();
        await using var host = await DaprTestHost.StartAsync("health-app", resources, withApp: false, appPort: appPort);
        using var http = new HttpClient { BaseAddress = new Uri(host.Sidecar.HttpEndpoint) };

        using var outbound = await http.GetAsync(new Uri("/v1.0/healthz/outbound", UriKind.Relative), Ct);
        using var beforeApp = await http.GetAsync(new Uri("/v1.0/healthz", UriKind.Relative), Ct);
        await using var app = await TestApp.StartAsync(appPort, host.Endpoints);
        await host.WaitForSidecarReadyAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(HttpStatusCode.NoContent, outbound.StatusCode);
        Assert.Equal(HttpStatusCode.InternalServerError, beforeApp.StatusCode);
    }

    [Fact]
    public async Task An_unknown_component_type_stops_the_sidecar_at_start_with_a_clear_message()
    {
        using var resources = new Resources().Component("weird", "state.cassandra");

        var error = await Assert.ThrowsAnyAsync<Exception>(() => DaprTestHost.StartAsync("bad-component", resources, withApp: false));

        Assert.Contains("state.cassandra", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_app_api_token_is_sent_to_the_app_on_every_call()
    {
        using var resources = new Resources().Component("pubsub", "pubsub.in-memory");
        await using var host = await DaprTestHost.StartAsync("app-token", resources, appApiToken: "app-s3cret");

        var calls = await host.AppLog.WaitForAsync(r => r.Any(x => x.Path == "/dapr/subscribe"), TimeSpan.FromSeconds(20), "GET /dapr/subscribe");

        Assert.All(calls, c => Assert.Equal("app-s3cret", c.Headers.GetValueOrDefault("dapr-api-token")));
    }
}
