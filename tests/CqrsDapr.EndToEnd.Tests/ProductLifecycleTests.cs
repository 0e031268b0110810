using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace CqrsDapr.EndToEnd.Tests;

/// <summary>A product's life through the gateway: every service, sidecar, database and the broker take part.</summary>
[Collection(WholeSystem.Name)]
public sealed class ProductLifecycleTests(SystemFixture system) : ProductLifecycle(system);

/// <summary>The same life with the query service's views in Cosmos DB.</summary>
[Collection(WholeSystemOnCosmos.Name)]
public sealed class ProductLifecycleOnCosmosTests(CosmosSystemFixture system) : ProductLifecycle(system)
{
    [Fact]
    public async Task The_views_live_in_cosmos_db_and_not_in_the_dapr_state_store()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var (id, token) = await CreateAsync("where-views-live", "Shelf", 80m, stock: 2, cancellationToken);
        await ReadAsync(id, token, cancellationToken);

        var documents = await CosmosDocumentsAsync(id, cancellationToken);
        var document = Assert.Single(documents.EnumerateArray());
        Assert.Equal("Shelf", document.GetProperty("name").GetString());
        Assert.StartsWith("product|", document.GetProperty("pk").GetString(), StringComparison.Ordinal);

        using var sidecar = system.Client("query-service-dapr");
        sidecar.DefaultRequestHeaders.Add("dapr-api-token", system.ApiToken);
        using var state = await sidecar.GetAsync(new Uri($"v1.0/state/viewstore/product%7C{id}", UriKind.Relative), cancellationToken);
        Assert.Equal(HttpStatusCode.NoContent, state.StatusCode); // the Dapr store has no view of it
    }

    /// <summary>
    /// The stand-in's documents with this id, by its REST API (it ignores authorization; the certificate is the one the
    /// AppHost made in the data directory).
    /// </summary>
    private async Task<JsonElement> CosmosDocumentsAsync(string id, CancellationToken cancellationToken)
    {
        using var pinned = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(
            File.ReadAllText(Path.Combine(system.DataDirectory, "cosmos", "cert.pem")));
        using var handler = new SocketsHttpHandler
        {
            SslOptions = new System.Net.Security.SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetRawCertData().AsSpan().SequenceEqual(pinned.RawData),
            },
        };
        using var client = new HttpClient(handler);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(system.CosmosEndpoint, "dbs/cqrsdapr/colls/product-views/docs"))
        {
            Content = new StringContent(JsonSerializer.Serialize(new { query = "SELECT * FROM c WHERE c.id = @id", parameters = new[] { new { name = "@id", value = id } } })),
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/query+json");
        request.Headers.Add("x-ms-documentdb-isquery", "true");
        request.Headers.Add("x-ms-documentdb-query-enablecrosspartition", "true");
        using var response = await client.SendAsync(request, cancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("Documents");
    }
}

/// <summary>The lifecycle checks, for each system they run on.</summary>
public abstract class ProductLifecycle(SystemFixture system)
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(30);
    private HttpClient Gateway => system.Gateway;

    [Fact]
    public async Task A_product_is_created_changed_adjusted_listed_and_deleted_and_each_read_sees_its_write()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var category = $"lifecycle-{Guid.NewGuid():N}"[..24];

        var (id, createToken) = await CreateAsync(category, "Desk lamp", 39.90m, stock: 12, cancellationToken);
        var created = await ReadAsync(id, createToken, cancellationToken);
        Assert.Equal(1, created.GetProperty("version").GetInt64());
        Assert.Equal("Desk lamp", created.GetProperty("name").GetString());
        Assert.Equal(39.90m, created.GetProperty("price").GetProperty("amount").GetDecimal());
        Assert.Equal("EUR", created.GetProperty("price").GetProperty("currency").GetString());
        Assert.Equal(12, created.GetProperty("stock").GetInt32());

        using var patched = await Gateway.SendAsync(HttpMethod.Patch, $"/api/products/{id}",
            """{"name":"Desk lamp XL","price":{"amount":34.50,"currency":"EUR"}}""", contentType: "application/merge-patch+json",
            headers: new Dictionary<string, string> { ["If-Match"] = "\"1\"" }, cancellationToken: cancellationToken);
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        var changed = await ReadAsync(id, Token(patched), cancellationToken);
        Assert.Equal(2, changed.GetProperty("version").GetInt64());
        Assert.Equal("Desk lamp XL", changed.GetProperty("name").GetString());
        Assert.Equal(34.50m, changed.GetProperty("price").GetProperty("amount").GetDecimal());
        Assert.Equal("Warm light", changed.GetProperty("description").GetString()); // a merge patch keeps what it does not name

        using var adjusted = await Gateway.SendAsync(HttpMethod.Post, $"/api/products/{id}/stock-adjustments",
            """{"delta":-5,"reason":"sold"}""", cancellationToken: cancellationToken);
        Assert.Equal(HttpStatusCode.OK, adjusted.StatusCode);
        var afterSale = await ReadAsync(id, Token(adjusted), cancellationToken);
        Assert.Equal(3, afterSale.GetProperty("version").GetInt64());
        Assert.Equal(7, afterSale.GetProperty("stock").GetInt32());

        // Three more in the category, to filter, sort and page through the list.
        foreach (var (name, price) in new[] { ("Floor lamp", 120m), ("Bulb", 4.99m), ("Lantern", 55m) })
        {
            var (otherId, otherToken) = await CreateAsync(category, name, price, stock: 1, cancellationToken);
            await ReadAsync(otherId, otherToken, cancellationToken);
        }

        var filtered = await Gateway.GetFromJsonAsync<JsonElement>(
            $"/api/products?category={category}&minPrice=5&maxPrice=100&sort=-price", cancellationToken);
        Assert.Equal(["Lantern", "Desk lamp XL"], Names(filtered)); // Floor lamp (120) and Bulb (4.99) are outside the range
        var firstPage = await Gateway.GetFromJsonAsync<JsonElement>($"/api/products?category={category}&sort=price&pageSize=3", cancellationToken);
        Assert.Equal(["Bulb", "Desk lamp XL", "Lantern"], Names(firstPage));
        var next = firstPage.GetProperty("nextPageToken").GetString()!;
        var lastPage = await Gateway.GetFromJsonAsync<JsonElement>(
            $"/api/products?category={category}&sort=price&pageSize=3&pageToken={Uri.EscapeDataString(next)}", cancellationToken);
        Assert.Equal(["Floor lamp"], Names(lastPage));
        Assert.False(lastPage.TryGetProperty("nextPageToken", out var none) && none.ValueKind != JsonValueKind.Null);
        var byName = await Gateway.GetFromJsonAsync<JsonElement>($"/api/products?category={category}&sort=name", cancellationToken);
        Assert.Equal(["Bulb", "Desk lamp XL", "Floor lamp", "Lantern"], Names(byName));

        using var deleted = await Gateway.SendAsync(HttpMethod.Delete, $"/api/products/{id}", cancellationToken: cancellationToken);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        var (status, _) = await Gateway.ReadOwnWriteAsync(id, Token(deleted), DateTimeOffset.UtcNow + ReadTimeout, cancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, status);
        var afterDelete = await Gateway.GetFromJsonAsync<JsonElement>($"/api/products?category={category}&sort=name", cancellationToken);
        Assert.Equal(["Bulb", "Floor lamp", "Lantern"], Names(afterDelete));
    }

    [Fact]
    public async Task A_read_with_the_token_of_a_write_sees_that_write_at_once_and_an_unchanged_version_answers_304()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        for (var i = 0; i < 20; i++)
        {
            // No retries here: the query service itself waits until the view has the write.
            var (id, token) = await CreateAsync("consistency", $"Item {i}", 10m + i, stock: i, cancellationToken);
            using var read = await Gateway.SendAsync(HttpMethod.Get, $"/api/products/{id}", token: token, cancellationToken: cancellationToken);
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
            Assert.Equal("consistent", Assert.Single(read.Headers.GetValues("X-Consistency-Status")));
            Assert.Equal($"Item {i}", (await read.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("name").GetString());

            using var unchanged = await Gateway.SendAsync(HttpMethod.Get, $"/api/products/{id}",
                headers: new Dictionary<string, string> { ["If-None-Match"] = read.Headers.ETag!.Tag }, cancellationToken: cancellationToken);
            Assert.Equal(HttpStatusCode.NotModified, unchanged.StatusCode);
        }
    }

    private protected async Task<(string Id, string Token)> CreateAsync(string category, string name, decimal price, int stock, CancellationToken cancellationToken)
    {
        var sku = $"E2E-{Guid.NewGuid():N}"[..20];
        using var created = await Gateway.PostAsJsonAsync("/api/products", new
        {
            sku,
            name,
            description = "Warm light",
            category,
            price = new { amount = price, currency = "eur" },
            stock,
        }, cancellationToken);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await created.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        var id = body.GetProperty("id").GetString()!;
        Assert.Equal($"/api/products/{id}", created.Headers.Location?.OriginalString);
        Assert.Equal("\"1\"", created.Headers.ETag?.Tag);
        return (id, Token(created));
    }

    private protected async Task<JsonElement> ReadAsync(string id, string token, CancellationToken cancellationToken)
    {
        var (status, body) = await Gateway.ReadOwnWriteAsync(id, token, DateTimeOffset.UtcNow + ReadTimeout, cancellationToken);
        Assert.Equal(HttpStatusCode.OK, status);
        return body;
    }

    private static string Token(HttpResponseMessage response) => Assert.Single(response.Headers.GetValues(ProductApi.ConsistencyToken));

    private static string[] Names(JsonElement page) =>
        page.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("name").GetString()!).ToArray();
}
