using System.Net;
using CqrsDapr.Gateway.Tests.Infrastructure;

namespace CqrsDapr.Gateway.Tests;

public sealed class CorrelationIdTests : IAsyncLifetime
{
    private const string Header = "X-Correlation-Id";
    private GatewayScenario? gateway;

    private GatewayScenario Gateway => gateway ?? throw new InvalidOperationException("not started");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => gateway = await GatewayScenario.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (gateway is not null)
        {
            await gateway.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_request_without_a_correlation_id_gets_one_that_is_forwarded_and_echoed()
    {
        using var response = await Gateway.Http.GetAsync(new Uri("/api/products", UriKind.Relative), Ct);

        var echoed = response.Headers.GetValues(Header).Single();
        Assert.False(string.IsNullOrWhiteSpace(echoed));
        Assert.Equal(echoed, Assert.Single(Gateway.Query.Received).Header(Header));
    }

    [Fact]
    public async Task A_well_formed_correlation_id_is_kept_forwarded_and_echoed()
    {
        const string id = "order-2026.11:abc_123";
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/orders", UriKind.Relative)) { Content = new StringContent("{}") };
        request.Headers.Add(Header, id);
        using var response = await Gateway.Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(id, response.Headers.GetValues(Header).Single());
        Assert.Equal(id, Assert.Single(Gateway.Command.Received).Header(Header));
    }

    [Theory]
    [InlineData("has spaces in it")]
    [InlineData("<script>alert(1)</script>")]
    [InlineData("a,b")]
    [InlineData("0123456789012345678901234567890123456789012345678901234567890123456789")]
    public async Task A_malformed_correlation_id_is_replaced_before_it_reaches_a_service(string malformed)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/products", UriKind.Relative));
        request.Headers.TryAddWithoutValidation(Header, malformed);
        using var response = await Gateway.Http.SendAsync(request, Ct);

        var echoed = response.Headers.GetValues(Header).Single();
        Assert.NotEqual(malformed, echoed);
        Assert.Equal(echoed, Assert.Single(Gateway.Query.Received).Header(Header));
    }

    [Fact]
    public async Task The_gateways_own_error_answers_carry_the_correlation_id_too()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/nowhere", UriKind.Relative));
        request.Headers.Add(Header, "trace-me");
        using var response = await Gateway.Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("trace-me", response.Headers.GetValues(Header).Single());
    }
}
