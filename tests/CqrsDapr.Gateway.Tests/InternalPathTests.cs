using CqrsDapr.Gateway.Tests.Infrastructure;

namespace CqrsDapr.Gateway.Tests;

public sealed class InternalPathTests : IAsyncLifetime
{
    private GatewayScenario? gateway;

    private GatewayScenario Gateway => gateway ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync() => gateway = await GatewayScenario.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (gateway is not null)
        {
            await gateway.DisposeAsync();
        }
    }

    public static TheoryData<string> InternalTargets =>
    [
        "/dapr/subscribe",
        "/dapr/config",
        "/DAPR/subscribe",
        "/Dapr/Config",
        "/actors/ProductActor/1/method/Handle",
        "/ACTORS/ProductActor/1",
        "/internal/anything",
        "/Internal/x",
        "//actors/x",
        "///dapr/subscribe",
        "/./dapr/config",
        "/api/../dapr/config",
        "/api/../../actors/x",
        "/api/%2e%2e/dapr/config",
        "/api/..%2Fdapr/config",
        "/api%2F..%2Fdapr/config",
        "/%64apr/config",
        "/%44APR/config",
        "/%2564apr/config",
        "/dapr%2Fconfig",
        "/dapr;jsessionid=1/config",
        "/internal./x",
        "//api/products",
    ];

    [Theory]
    [MemberData(nameof(InternalTargets))]
    public async Task Internal_paths_in_any_spelling_are_404_problem_details_and_never_forwarded(string target)
    {
        foreach (var method in new[] { "GET", "HEAD", "POST", "PUT", "DELETE" })
        {
            var response = await Gateway.SendRawAsync(method, target, TestContext.Current.CancellationToken);

            Assert.Equal(404, response.StatusCode);
            Assert.StartsWith("application/problem+json", response.ContentType, StringComparison.Ordinal);
            if (method == "HEAD")
            {
                Assert.Equal("", response.Body);
            }
            else
            {
                Assert.Contains("\"code\":\"not-found\"", response.Body, StringComparison.Ordinal); // the raw body may be chunked
            }
        }

        Assert.Equal(0, Gateway.ForwardedCount);
    }

    [Fact]
    public async Task A_public_path_sent_the_same_raw_way_is_forwarded()
    {
        // Guards the test above: the raw client does reach the services when the path is public.
        var response = await Gateway.SendRawAsync("GET", "/api/products/7?q=1", TestContext.Current.CancellationToken);

        Assert.Equal(200, response.StatusCode);
        Assert.Equal("/api/products/7?q=1", Assert.Single(Gateway.Query.Received).Target);
    }

    [Fact]
    public async Task Connect_on_the_api_is_405_problem_details_and_not_forwarded()
    {
        var response = await Gateway.SendRawAsync("CONNECT", "/api/products", TestContext.Current.CancellationToken);

        Assert.Equal(405, response.StatusCode);
        Assert.StartsWith("application/problem+json", response.ContentType, StringComparison.Ordinal);
        Assert.Contains("\"code\":\"method-not-allowed\"", response.Body, StringComparison.Ordinal); // the raw body may be chunked
        Assert.Equal(0, Gateway.ForwardedCount);
    }

    [Fact]
    public async Task A_connect_tunnel_request_is_refused_and_not_forwarded()
    {
        // Authority-form targets are rejected by Kestrel itself (400, before the gateway's pipeline runs).
        var response = await Gateway.SendRawAsync("CONNECT", "query-service:80", TestContext.Current.CancellationToken);

        Assert.Equal(400, response.StatusCode);
        Assert.Equal(0, Gateway.ForwardedCount);
    }
}
