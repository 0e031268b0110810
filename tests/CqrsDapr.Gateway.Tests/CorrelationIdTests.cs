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

    [Fact]
    public async Task What_the_gateway_logs_for_a_request_carries_its_correlation_id_and_no_dapr_token()
    {
        // The proxy's own request logs are Information; appsettings.json keeps them quiet in production.
        await using var verbose = await GatewayScenario.StartAsync(new Dictionary<string, string?> { ["Logging:LogLevel:Yarp"] = "Information" });
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/dapr/config", UriKind.Relative));
        request.Headers.Add(Header, "log-me-1");
        request.Headers.Add("dapr-api-token", "super-secret-token");
        using var refused = await verbose.Http.SendAsync(request, Ct);
        using var forwarded = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/products", UriKind.Relative)) { Content = new StringContent("{}") };
        forwarded.Headers.Add(Header, "log-me-2");
        forwarded.Headers.Add("dapr-api-token", "super-secret-token");
        using var accepted = await verbose.Http.SendAsync(forwarded, Ct);

        var refusal = Assert.Single(verbose.Logs.Entries, entry => entry.Message.Contains("non-public path", StringComparison.Ordinal));
        Assert.Equal("log-me-1", refusal.Scope["CorrelationId"]);
        Assert.Contains(verbose.Logs.Entries, entry => entry.Category.StartsWith("Yarp", StringComparison.Ordinal)
            && entry.Scope.TryGetValue("CorrelationId", out var id) && Equals(id, "log-me-2"));
        Assert.DoesNotContain(verbose.Logs.Entries, entry => entry.Message.Contains("super-secret-token", StringComparison.Ordinal)
            || entry.Scope.Values.Any(value => value?.ToString()?.Contains("super-secret-token", StringComparison.Ordinal) == true));
    }
}
