using System.Net;
using System.Text.Json;
using CqrsDapr.QueryService.Tests.Infrastructure;
using CqrsDapr.TestSupport;
using static CqrsDapr.QueryService.Tests.Infrastructure.ProductEvents;

namespace CqrsDapr.QueryService.Tests.AppToken;

/// <summary>
/// Dapr's app API token (<c>APP_API_TOKEN</c>): when it is configured, every route the sidecar calls (subscriptions and
/// their deliveries, dead letters, <c>/internal/*</c>) requires it in <c>dapr-api-token</c>, as the sidecar sends it;
/// health and the public API stay open. Without it, those routes are open, as an app without a sidecar token needs.
/// </summary>
public sealed class AppApiTokenTests(AppTokenQueryServiceHost secured, QueryServiceHost open)
    : IClassFixture<AppTokenQueryServiceHost>, IClassFixture<QueryServiceHost>
{

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void The_sidecar_routes_are_the_subscriptions_their_deliveries_and_the_internal_endpoints()
    {
        var routes = AppRoutes.All(secured.Services).Where(route => route.IsCalledBySidecar).Select(r => r.ToString()).ToList();

        Assert.Contains("GET /dapr/subscribe", routes);
        Assert.Contains("POST /events/products", routes);
        Assert.Contains("POST /events/products/bulk", routes);
        Assert.Contains("POST /events/products-deadletter", routes);
        Assert.Contains("GET /internal/dead-letters", routes);
        Assert.Contains("POST /internal/rebuilds/products", routes);
        Assert.Contains("GET /internal/rebuilds/products", routes);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-token")]
    [InlineData("")]
    public async Task Every_sidecar_route_without_the_right_token_answers_401_problem_details(string? token)
    {
        foreach (var route in AppRoutes.All(secured.Services).Where(route => route.IsCalledBySidecar))
        {
            using var response = await route.SendAsync(secured.Client, token, Ct);

            var body = await response.Content.ReadAsStringAsync(Ct);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{route}: {(int)response.StatusCode} {body}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            using var problem = JsonDocument.Parse(body);
            Assert.Equal(401, problem.RootElement.GetProperty("status").GetInt32());
            Assert.Equal("unauthorized", problem.RootElement.GetProperty("code").GetString());
        }
    }

    [Fact]
    public async Task With_the_right_token_the_sidecar_routes_answer()
    {
        using var subscribe = await new AppRoute("GET", "/dapr/subscribe").SendAsync(secured.Client, AppTokenQueryServiceHost.Token, Ct);
        using var deadLetters = await new AppRoute("GET", "/internal/dead-letters").SendAsync(secured.Client, AppTokenQueryServiceHost.Token, Ct);

        Assert.Equal(HttpStatusCode.OK, subscribe.StatusCode);
        Assert.Contains("products-deadletter", await subscribe.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, deadLetters.StatusCode);
    }

    [Fact]
    public async Task An_event_delivered_by_the_sidecar_with_the_token_is_projected_and_read_without_one()
    {
        var id = Guid.NewGuid();
        await secured.PublishAsync(Created(id, name: "Token Lamp"));

        var view = await secured.ViewAtVersionAsync(id, 1, TimeSpan.FromSeconds(60));
        using var read = await secured.Client.GetAsync(new Uri($"/api/products/{id}", UriKind.Relative), Ct);

        Assert.Equal("Token Lamp", view?.Name);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
    }

    [Theory]
    [InlineData("/health")]
    [InlineData("/alive")]
    public async Task Health_endpoints_stay_open(string path)
    {
        using var response = await secured.Client.GetAsync(new Uri(path, UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Without_a_configured_token_the_sidecar_routes_are_open()
    {
        using var subscribe = await new AppRoute("GET", "/dapr/subscribe").SendAsync(open.Client, null, Ct);
        using var deadLetters = await new AppRoute("GET", "/internal/dead-letters").SendAsync(open.Client, "anything", Ct);

        Assert.Equal(HttpStatusCode.OK, subscribe.StatusCode);
        Assert.Equal(HttpStatusCode.OK, deadLetters.StatusCode);
    }
}
