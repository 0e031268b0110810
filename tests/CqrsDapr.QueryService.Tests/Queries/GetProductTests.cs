using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using CqrsDapr.QueryService.Tests.Infrastructure;

namespace CqrsDapr.QueryService.Tests.Queries;

/// <summary><c>GET /api/products/{id}</c> through the running service and its sidecar.</summary>
public sealed class GetProductTests(QueryServiceHost host) : IClassFixture<QueryServiceHost>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_product_is_served_with_exactly_the_public_fields_and_its_version_as_etag()
    {
        var view = await host.AProductAsync("get-" + Guid.NewGuid().ToString("N")[..8], "Oak desk", 12.5m, version: 3);

        using var response = await host.Client.GetAsync(new Uri($"/api/products/{view.Id}", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("\"3\"", response.Headers.ETag?.ToString());
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        var root = json.RootElement;
        Assert.Equal(
            ["category", "createdAt", "description", "id", "name", "price", "sku", "stock", "updatedAt", "version"],
            root.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(["amount", "currency"], root.GetProperty("price").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(view.Id, root.GetProperty("id").GetGuid());
        Assert.Equal("Oak desk", root.GetProperty("name").GetString());
        Assert.Equal(12.5m, root.GetProperty("price").GetProperty("amount").GetDecimal());
        Assert.Equal("EUR", root.GetProperty("price").GetProperty("currency").GetString());
        Assert.Equal(3, root.GetProperty("version").GetInt64());
        Assert.Equal(view.UpdatedAt, root.GetProperty("updatedAt").GetDateTimeOffset());
    }

    [Fact]
    public async Task If_none_match_with_the_current_version_answers_304_and_an_older_one_gets_the_product()
    {
        var view = await host.AProductAsync("get-" + Guid.NewGuid().ToString("N")[..8], version: 2);

        using var same = new HttpRequestMessage(HttpMethod.Get, new Uri($"/api/products/{view.Id}", UriKind.Relative));
        same.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"2\""));
        using var notModified = await host.Client.SendAsync(same, Ct);
        using var older = new HttpRequestMessage(HttpMethod.Get, new Uri($"/api/products/{view.Id}", UriKind.Relative));
        older.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"1\""));
        using var modified = await host.Client.SendAsync(older, Ct);

        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Equal("\"2\"", notModified.Headers.ETag?.ToString());
        Assert.Empty(await notModified.Content.ReadAsByteArrayAsync(Ct));
        Assert.Equal(HttpStatusCode.OK, modified.StatusCode);
    }

    [Fact]
    public async Task An_unknown_product_is_404_problem_details()
    {
        using var response = await host.Client.GetAsync(new Uri($"/api/products/{Guid.NewGuid()}", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal("product-not-found", json.RootElement.GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_deleted_product_is_404_although_its_tombstone_is_stored()
    {
        var view = await host.AProductAsync("get-" + Guid.NewGuid().ToString("N")[..8]);
        await host.ProjectAsync(view.Id, v => v with { Deleted = true });

        using var response = await host.Client.GetAsync(new Uri($"/api/products/{view.Id}", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.NotNull(await host.Store.GetAsync(view.Id, Ct));
    }

    [Fact]
    public async Task An_id_that_is_not_a_uuid_is_400_with_a_field_error()
    {
        using var response = await host.Client.GetAsync(new Uri("/api/products/not-a-uuid", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.True(json.RootElement.GetProperty("errors").TryGetProperty("id", out _));
    }
}
