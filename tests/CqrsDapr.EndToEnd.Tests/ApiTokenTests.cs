using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace CqrsDapr.EndToEnd.Tests;

/// <summary>
/// The API tokens of a real run: every hop carries its token (a write is projected and read back; a rebuild reaches
/// the command service's event log through both sidecars), and a call without it is refused, at a sidecar
/// (<c>DAPR_API_TOKEN</c>) as at an app (<c>APP_API_TOKEN</c>).
/// </summary>
[Collection(WholeSystem.Name)]
public sealed class ApiTokenTests(SystemFixture system)
{
    private const string TokenHeader = "dapr-api-token";
    private static readonly string[] Sidecars = ["command-service-dapr", "query-service-dapr"];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string path, string? token)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (token is not null)
        {
            request.Headers.Add(TokenHeader, token);
        }

        return await client.SendAsync(request, Ct);
    }

    /// <summary>Creates a product through the gateway and reads it back with its consistency token; returns its id.</summary>
    private async Task<string> CreateAndReadAsync()
    {
        var sku = $"tok-{Guid.NewGuid():N}"[..20];
        using var created = await system.Gateway.PostAsJsonAsync("/api/products", new
        {
            sku,
            name = "Token lamp",
            category = "lighting",
            price = new { amount = 12.50m, currency = "EUR" },
            stock = 3,
        }, Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("id").GetString()!;

        using var read = new HttpRequestMessage(HttpMethod.Get, $"/api/products/{id}");
        read.Headers.Add("X-Consistency-Token", Assert.Single(created.Headers.GetValues("X-Consistency-Token")));
        using var response = await system.Gateway.SendAsync(read, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(sku.ToUpperInvariant(), (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("sku").GetString());
        return id;
    }

    [Fact]
    public async Task A_write_through_the_gateway_is_projected_and_read_back() => await CreateAndReadAsync();

    [Fact]
    public async Task The_sidecars_refuse_api_calls_without_this_runs_token_but_answer_health_checks()
    {
        foreach (var sidecar in Sidecars)
        {
            using var client = system.Client(sidecar);

            using var without = await SendAsync(client, HttpMethod.Get, "/v1.0/metadata", token: null);
            using var wrong = await SendAsync(client, HttpMethod.Get, "/v1.0/metadata", token: system.AppToken);
            using var right = await SendAsync(client, HttpMethod.Get, "/v1.0/metadata", token: system.ApiToken);
            using var health = await SendAsync(client, HttpMethod.Get, "/v1.0/healthz/outbound", token: null);

            Assert.Equal(HttpStatusCode.Unauthorized, without.StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
            Assert.Equal(HttpStatusCode.OK, right.StatusCode);
            Assert.Equal(HttpStatusCode.NoContent, health.StatusCode);
        }
    }

    [Theory]
    [InlineData("command-service", "/dapr/config")]
    [InlineData("command-service", "/internal/event-log")]
    [InlineData("query-service", "/dapr/subscribe")]
    [InlineData("query-service", "/internal/dead-letters")]
    public async Task The_apps_refuse_the_sidecars_routes_without_this_runs_app_token(string app, string path)
    {
        using var client = system.Client(app);

        using var without = await SendAsync(client, HttpMethod.Get, path, token: null);
        using var wrong = await SendAsync(client, HttpMethod.Get, path, token: system.ApiToken);
        using var right = await SendAsync(client, HttpMethod.Get, path, token: system.AppToken);

        Assert.Equal(HttpStatusCode.Unauthorized, without.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
    }

    [Fact]
    public async Task A_rebuild_invoked_through_the_sidecars_reads_the_event_log_with_the_app_token()
    {
        await CreateAndReadAsync();
        using var sidecar = system.Client("query-service-dapr");
        const string rebuilds = "/v1.0/invoke/query-service/method/internal/rebuilds/products";

        using var refused = await SendAsync(sidecar, HttpMethod.Post, rebuilds, token: null);
        using var started = await SendAsync(sidecar, HttpMethod.Post, rebuilds, token: system.ApiToken);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);

        var clock = Stopwatch.StartNew();
        JsonElement last;
        do
        {
            await Task.Delay(200, Ct);
            using var status = await SendAsync(sidecar, HttpMethod.Get, rebuilds, token: system.ApiToken);
            Assert.Equal(HttpStatusCode.OK, status.StatusCode);
            last = (await status.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("lastRebuild");
        }
        while (last.GetProperty("state").GetString() == "building" && clock.Elapsed < TimeSpan.FromSeconds(60));

        // The query service read the command service's event log: its sidecar, the command service's sidecar and the
        // command service each accepted the token meant for them.
        Assert.True(last.GetProperty("state").GetString() == "completed", last.ToString());
        Assert.True(last.GetProperty("events").GetInt64() >= 1, last.ToString());
    }
}
