using CqrsDapr.Gateway.Tests.Infrastructure;

namespace CqrsDapr.Gateway.Tests;

public sealed class ForwardedHeadersTests : GatewayTest
{
    [Fact]
    public async Task Dapr_headers_from_a_client_are_not_forwarded_while_ordinary_headers_are()
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, new Uri("/api/products/1", UriKind.Relative));
        request.Headers.Add("dapr-api-token", "stolen-token");
        request.Headers.Add("dapr-app-id", "command-service");
        request.Headers.Add("Dapr-Caller-App-Id", "query-service");
        request.Headers.Add("If-Match", "\"3\"");
        request.Headers.Add("Idempotency-Key", "key-1");
        using var response = await Gateway.Http.SendAsync(request, Ct);

        var received = Assert.Single(Gateway.Command.Received);
        Assert.DoesNotContain(received.Headers.Keys, name => name.StartsWith("dapr-", StringComparison.OrdinalIgnoreCase));
        Assert.Equal("\"3\"", received.Header("If-Match"));
        Assert.Equal("key-1", received.Header("Idempotency-Key"));
    }

    [Fact]
    public async Task The_service_learns_the_client_address_scheme_and_host_and_not_what_the_client_claims()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/products", UriKind.Relative));
        request.Headers.Add("X-Forwarded-For", "203.0.113.66");
        request.Headers.Add("Forwarded", "for=203.0.113.66");
        using var response = await Gateway.Http.SendAsync(request, Ct);

        var received = Assert.Single(Gateway.Query.Received);
        Assert.Equal("127.0.0.1", received.Header("X-Forwarded-For"));
        Assert.Equal("http", received.Header("X-Forwarded-Proto"));
        Assert.Equal($"127.0.0.1:{Gateway.Port}", received.Header("X-Forwarded-Host"));
        Assert.Null(received.Header("Forwarded"));
    }
}
