using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace CqrsDapr.EndToEnd.Tests;

/// <summary>A product's life through the gateway: every service, sidecar, database and the broker take part.</summary>
public sealed class ProductLifecycleTests(SystemFixture system) : IClassFixture<SystemFixture>
{
    private const string ConsistencyToken = "X-Consistency-Token";

    [Fact]
    public async Task Created_product_is_read_listed_deleted_and_then_not_found()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var sku = $"e2e-{Guid.NewGuid():N}"[..20];

        using var created = await system.Gateway.PostAsJsonAsync("/api/products", new
        {
            sku,
            name = "Desk lamp",
            description = "Warm light",
            category = "lighting",
            price = new { amount = 39.90m, currency = "EUR" },
            stock = 12,
        }, cancellationToken);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var createToken = Assert.Single(created.Headers.GetValues(ConsistencyToken));
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("id").GetString();

        using var read = await SendAsync(HttpMethod.Get, $"/api/products/{id}", createToken, cancellationToken);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        var product = await read.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        Assert.Equal(sku.ToUpperInvariant(), product.GetProperty("sku").GetString());

        var list = await system.Gateway.GetFromJsonAsync<JsonElement>("/api/products?category=lighting&pageSize=100", cancellationToken);
        Assert.Contains(list.GetProperty("items").EnumerateArray(), item => item.GetProperty("id").GetString() == id);

        using var deleted = await SendAsync(HttpMethod.Delete, $"/api/products/{id}", token: null, cancellationToken);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        var deleteToken = Assert.Single(deleted.Headers.GetValues(ConsistencyToken));

        using var gone = await SendAsync(HttpMethod.Get, $"/api/products/{id}", deleteToken, cancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task Internal_paths_are_not_reachable_through_the_gateway()
    {
        using var response = await system.Gateway.GetAsync("/internal/rebuilds/products", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? token, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Add(ConsistencyToken, token);
        }

        return await system.Gateway.SendAsync(request, cancellationToken);
    }
}
