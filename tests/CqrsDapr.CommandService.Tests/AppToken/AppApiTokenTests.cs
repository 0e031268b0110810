using System.Net;
using System.Text.Json;
using CqrsDapr.CommandService.Tests.Infrastructure;
using CqrsDapr.CommandService.Tests.Products;
using CqrsDapr.TestSupport;

namespace CqrsDapr.CommandService.Tests.AppToken;

/// <summary>
/// Dapr's app API token (<c>APP_API_TOKEN</c>): when it is configured, every route the sidecar calls (actors,
/// <c>/dapr/config</c>, <c>/internal/*</c>) requires it in <c>dapr-api-token</c>, as the sidecar sends it; health and
/// the public API stay open. Without it, those routes are open, as an app without a sidecar token needs.
/// </summary>
public sealed class AppApiTokenTests(AppTokenCommandServiceHost secured, CommandServiceHost open)
    : IClassFixture<AppTokenCommandServiceHost>, IClassFixture<CommandServiceHost>
{

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task AssertUnauthorizedProblemAsync(HttpResponseMessage response, AppRoute route)
    {
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{route}: {(int)response.StatusCode} {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(body);
        Assert.Equal(401, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Equal("unauthorized", problem.RootElement.GetProperty("code").GetString());
    }

    [Fact]
    public void The_sidecar_routes_are_the_actor_routes_the_dapr_config_and_the_event_log()
    {
        var routes = AppRoutes.All(secured.Services).Where(route => route.IsCalledBySidecar).Select(r => r.ToString()).ToList();

        Assert.Contains("GET /dapr/config", routes);
        Assert.Contains("PUT /actors/test/test/method/test", routes);
        Assert.Contains("DELETE /actors/test/test", routes);
        Assert.Contains("GET /internal/event-log", routes);
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

            await AssertUnauthorizedProblemAsync(response, route);
        }
    }

    [Fact]
    public async Task With_the_right_token_the_sidecar_routes_answer()
    {
        using var config = await new AppRoute("GET", "/dapr/config").SendAsync(secured.Client, AppTokenCommandServiceHost.Token, Ct);
        using var eventLog = await new AppRoute("GET", "/internal/event-log").SendAsync(secured.Client, AppTokenCommandServiceHost.Token, Ct);

        Assert.Equal(HttpStatusCode.OK, config.StatusCode);
        Assert.Contains("ProductActor", await config.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, eventLog.StatusCode);
    }

    [Fact]
    public async Task A_command_needs_no_token_and_reaches_its_actor_through_the_sidecar_which_presents_it()
    {
        // POST /api/products is public (the gateway forwards it without any token); the actor call behind it is the
        // sidecar's PUT /actors/..., which only passes with the token.
        var id = await new ProductApi(secured).AProductAsync();

        Assert.NotEqual(Guid.Empty, id);
    }

    [Theory]
    [InlineData("/health")]
    [InlineData("/alive")]
    [InlineData("/healthz")]
    public async Task Health_endpoints_stay_open(string path)
    {
        using var response = await secured.Client.GetAsync(new Uri(path, UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Without_a_configured_token_the_sidecar_routes_are_open()
    {
        using var config = await new AppRoute("GET", "/dapr/config").SendAsync(open.Client, null, Ct);
        using var eventLog = await new AppRoute("GET", "/internal/event-log").SendAsync(open.Client, "anything", Ct);

        Assert.Equal(HttpStatusCode.OK, config.StatusCode);
        Assert.Equal(HttpStatusCode.OK, eventLog.StatusCode);
    }
}
