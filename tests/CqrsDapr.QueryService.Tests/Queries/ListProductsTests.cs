using System.Net;
using System.Text.Json;
using CqrsDapr.QueryService.Tests.Infrastructure;

namespace CqrsDapr.QueryService.Tests.Queries;

/// <summary><c>GET /api/products</c> through the running service and its sidecar; each test lists its own category.</summary>
public sealed class ListProductsTests(QueryServiceHost host) : IClassFixture<QueryServiceHost>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string ACategory() => "list-" + Guid.NewGuid().ToString("N")[..10];

    private async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(string query)
    {
        using var response = await host.Client.GetAsync(new Uri("/api/products?" + query, UriKind.Relative), Ct);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        return (response.StatusCode, json.RootElement.Clone());
    }

    private static string[] Names(JsonElement body) =>
        [.. body.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("name").GetString()!)];

    [Fact]
    public async Task Products_of_a_category_in_a_price_range_are_listed_sorted_by_price_descending()
    {
        var category = ACategory();
        await host.AProductAsync(category, "Nine", 9m);
        await host.AProductAsync(category, "Ten", 10m);
        await host.AProductAsync(category, "Hundred", 100m);
        await host.AProductAsync(category, "Thousand", 1000m);
        await host.AProductAsync(ACategory(), "Other category", 50m);

        var (status, body) = await GetAsync($"category={category}&minPrice=10&maxPrice=100.00&sort=-price");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["Hundred", "Ten"], Names(body));
        Assert.Equal(JsonValueKind.Null, body.GetProperty("nextPageToken").ValueKind);
        Assert.Equal(["items", "nextPageToken"], body.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task Following_next_page_tokens_lists_every_product_once_in_name_order()
    {
        var category = ACategory();
        string[] names = ["delta", "Alpha", "charlie", "echo", "Bravo"];
        foreach (var name in names)
        {
            await host.AProductAsync(category, name);
        }

        var seen = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var (status, body) = await GetAsync($"category={category}&sort=name&pageSize=2" + (token is null ? "" : "&pageToken=" + token));
            Assert.Equal(HttpStatusCode.OK, status);
            seen.AddRange(Names(body));
            token = body.GetProperty("nextPageToken").GetString();
            Assert.True(++pages <= 3);
        }
        while (token is not null);

        Assert.Equal(["Alpha", "Bravo", "charlie", "delta", "echo"], seen);
    }

    [Fact]
    public async Task The_default_page_holds_twenty_products()
    {
        var category = ACategory();
        for (var i = 0; i < 21; i++)
        {
            await host.AProductAsync(category, $"p{i:D2}");
        }

        var (_, body) = await GetAsync($"category={category}");

        Assert.Equal(20, Names(body).Length);
        Assert.Equal(JsonValueKind.String, body.GetProperty("nextPageToken").ValueKind);
    }

    [Theory]
    [InlineData("sort=cheapest", "sort")]
    [InlineData("pageSize=0", "pageSize")]
    [InlineData("pageSize=101", "pageSize")]
    [InlineData("pageSize=ten", "pageSize")]
    [InlineData("minPrice=-1", "minPrice")]
    [InlineData("maxPrice=abc", "maxPrice")]
    [InlineData("minPrice=20&maxPrice=10", "maxPrice")]
    [InlineData("category=", "category")]
    [InlineData("pageToken=garbage", "pageToken")]
    public async Task Invalid_parameters_are_400_with_an_error_for_that_field(string query, string field)
    {
        var (status, body) = await GetAsync(query);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.True(body.GetProperty("errors").TryGetProperty(field, out _), body.ToString());
    }

    [Fact]
    public async Task A_page_token_used_with_other_filters_or_sort_is_400()
    {
        var category = ACategory();
        for (var i = 0; i < 3; i++)
        {
            await host.AProductAsync(category, $"t{i}", 10m + i);
        }

        var (_, first) = await GetAsync($"category={category}&pageSize=1&sort=price");
        var token = first.GetProperty("nextPageToken").GetString();

        var (otherSort, _) = await GetAsync($"category={category}&pageSize=1&sort=-price&pageToken={token}");
        var (otherFilter, _) = await GetAsync($"category={category}&pageSize=1&sort=price&minPrice=1&pageToken={token}");
        var (otherSize, _) = await GetAsync($"category={category}&pageSize=2&sort=price&pageToken={token}");

        Assert.Equal(HttpStatusCode.BadRequest, otherSort);
        Assert.Equal(HttpStatusCode.BadRequest, otherFilter);
        Assert.Equal(HttpStatusCode.OK, otherSize); // the page size may change between pages
    }
}
