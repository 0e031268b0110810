using System.Net;
using CqrsDapr.Gateway.Tests.Infrastructure;

namespace CqrsDapr.Gateway.Tests;

public sealed class ClientAddressTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_client_cannot_escape_its_rate_limit_by_claiming_another_address()
    {
        await using var gateway = await GatewayScenario.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:RateLimit:PermitLimit"] = "1",
            ["Gateway:RateLimit:WindowSeconds"] = "3600",
        });

        using var first = await GetAsClientAsync(gateway, "203.0.113.7");
        using var second = await GetAsClientAsync(gateway, "203.0.113.8");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.Equal("127.0.0.1", Assert.Single(gateway.Query.Received).Header("X-Forwarded-For"));
    }

    [Fact]
    public async Task Behind_a_trusted_proxy_each_client_address_is_limited_and_reported_on_its_own()
    {
        await using var gateway = await GatewayScenario.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:TrustedProxies:0"] = "127.0.0.0/8",
            ["Gateway:RateLimit:PermitLimit"] = "1",
            ["Gateway:RateLimit:WindowSeconds"] = "3600",
        });

        using var first = await GetAsClientAsync(gateway, "203.0.113.7");
        using var other = await GetAsClientAsync(gateway, "203.0.113.8");
        using var again = await GetAsClientAsync(gateway, "203.0.113.7");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, again.StatusCode);
        Assert.Equal(["203.0.113.7", "203.0.113.8"], gateway.Query.Received.Select(r => r.Header("X-Forwarded-For")));
    }

    private static async Task<HttpResponseMessage> GetAsClientAsync(GatewayScenario gateway, string clientAddress)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/products", UriKind.Relative));
        request.Headers.Add("X-Forwarded-For", clientAddress);
        return await gateway.Http.SendAsync(request, Ct);
    }
}
