using System.Net;
using CqrsDapr.Gateway.Tests.Infrastructure;

namespace CqrsDapr.Gateway.Tests;

public sealed class DestinationDownTests
{
    [Fact]
    public async Task A_service_that_is_down_is_answered_with_bad_gateway_problem_details_without_internals()
    {
        await using var gateway = await GatewayScenario.StartAsync(commandServiceDown: true);
        var ct = TestContext.Current.CancellationToken;

        using var response = await gateway.Http.PostAsync(new Uri("/api/products", UriKind.Relative), new StringContent("{}"), ct);
        var body = await response.Content.ReadAsStringAsync(ct);

        Assert.True(response.StatusCode is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable, $"got {response.StatusCode}");
        await RouteTableTests.AssertProblemAsync(response, (int)response.StatusCode, "backend-unavailable");
        Assert.DoesNotContain("127.0.0.1", body, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
        Assert.DoesNotContain("refused", body, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Reads_still_reach_the_query_service_while_the_command_service_is_down()
    {
        await using var gateway = await GatewayScenario.StartAsync(commandServiceDown: true);

        using var response = await gateway.Http.GetAsync(new Uri("/api/products", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(gateway.Query.Received);
    }
}
