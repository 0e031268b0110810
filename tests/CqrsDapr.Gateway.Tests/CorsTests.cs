using System.Net;
using CqrsDapr.Gateway.Tests.Infrastructure;

namespace CqrsDapr.Gateway.Tests;

public sealed class CorsTests : GatewayTest
{
    [Fact]
    public async Task A_preflight_from_an_allowed_origin_is_answered_by_the_gateway_and_not_forwarded()
    {
        using var response = await PreflightAsync(GatewayScenario.AllowedOrigin, "PATCH", "if-match, idempotency-key, x-consistency-token, content-type");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(GatewayScenario.AllowedOrigin, response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("PATCH", Values(response, "Access-Control-Allow-Methods"), StringComparer.OrdinalIgnoreCase);
        var allowedHeaders = Values(response, "Access-Control-Allow-Headers");
        Assert.Contains("if-match", allowedHeaders, StringComparer.OrdinalIgnoreCase);
        Assert.Contains("idempotency-key", allowedHeaders, StringComparer.OrdinalIgnoreCase);
        Assert.Contains("x-consistency-token", allowedHeaders, StringComparer.OrdinalIgnoreCase);
        Assert.Equal(0, Gateway.ForwardedCount);
    }

    [Fact]
    public async Task A_preflight_from_an_unknown_origin_is_not_allowed_and_not_forwarded()
    {
        using var response = await PreflightAsync("https://evil.example", "DELETE", "if-match");

        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.Equal(0, Gateway.ForwardedCount);
    }

    [Fact]
    public async Task A_cross_origin_response_exposes_the_headers_a_browser_client_needs()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/products/1", UriKind.Relative));
        request.Headers.Add("Origin", GatewayScenario.AllowedOrigin);
        using var response = await Gateway.Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(GatewayScenario.AllowedOrigin, response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        var exposed = Values(response, "Access-Control-Expose-Headers");
        foreach (var header in new[] { "ETag", "Location", "X-Consistency-Token", "X-Correlation-Id" })
        {
            Assert.Contains(header, exposed, StringComparer.OrdinalIgnoreCase);
        }

        Assert.Single(Gateway.Query.Received);
    }

    private async Task<HttpResponseMessage> PreflightAsync(string origin, string method, string headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, new Uri("/api/products/1", UriKind.Relative));
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", method);
        request.Headers.Add("Access-Control-Request-Headers", headers);
        return await Gateway.Http.SendAsync(request, Ct);
    }

    private static string[] Values(HttpResponseMessage response, string header) =>
        response.Headers.TryGetValues(header, out var values)
            ? [.. values.SelectMany(value => value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))]
            : [];
}
