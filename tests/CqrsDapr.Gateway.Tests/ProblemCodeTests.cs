using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using CqrsDapr.Gateway.Tests.Infrastructure;

namespace CqrsDapr.Gateway.Tests;

/// <summary>The gateway's own error answers carry a machine-readable <c>code</c>, whatever the client accepts.</summary>
public sealed class ProblemCodeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_service_that_does_not_answer_in_time_is_504_backend_timeout()
    {
        await using var gateway = await GatewayScenario.StartAsync(new Dictionary<string, string?>
        {
            ["ReverseProxy:Clusters:query-service:HttpRequest:ActivityTimeout"] = "00:00:00.500",
        });

        using var response = await gateway.Http.GetAsync(new Uri("/api/products/delay/10000", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        await RouteTableTests.AssertProblemAsync(response, 504, "backend-timeout");
    }

    [Fact]
    public async Task A_cluster_without_destinations_is_503_backend_unavailable()
    {
        await using var gateway = await GatewayScenario.StartAsync(new Dictionary<string, string?>
        {
            ["ReverseProxy:Routes:nowhere:ClusterId"] = "nowhere",
            ["ReverseProxy:Routes:nowhere:Match:Path"] = "/api/nowhere/{**rest}",
            ["ReverseProxy:Clusters:nowhere:LoadBalancingPolicy"] = "FirstAlphabetical",
        });

        using var response = await gateway.Http.GetAsync(new Uri("/api/nowhere/x", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        await RouteTableTests.AssertProblemAsync(response, 503, "backend-unavailable");
        Assert.Equal(0, gateway.ForwardedCount);
    }

    [Fact]
    public async Task A_client_that_accepts_no_json_still_gets_problem_json_with_the_code()
    {
        await using var gateway = await GatewayScenario.StartAsync();

        foreach (var path in new[] { "/dapr/config", "/not-the-api" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/html"));
            using var response = await gateway.Http.SendAsync(request, Ct);

            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            await RouteTableTests.AssertProblemAsync(response, 404, "not-found");
        }
    }

    [Fact]
    public async Task Every_gateway_problem_carries_the_trace_id_and_no_internals()
    {
        await using var gateway = await GatewayScenario.StartAsync(new Dictionary<string, string?> { ["Gateway:MaxRequestBodyBytes"] = "16" });

        using var response = await gateway.Http.PostAsync(new Uri("/api/products", UriKind.Relative), new StringContent(new string('x', 17)), Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);

        await RouteTableTests.AssertProblemAsync(response, 413, "payload-too-large");
        using var problem = JsonDocument.Parse(body);
        Assert.True(problem.RootElement.TryGetProperty("traceId", out _));
        Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
    }
}
