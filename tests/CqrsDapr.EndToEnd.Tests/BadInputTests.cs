using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace CqrsDapr.EndToEnd.Tests;

/// <summary>
/// Every kind of bad request a client can send, through the gateway: each is a 4xx RFC 9457 ProblemDetails (field
/// errors named where a field is at fault), never a 5xx and never a stack trace; internal paths are not reachable.
/// </summary>
[Collection(WholeSystem.Name)]
public sealed class BadInputTests(SystemFixture system)
{
    private const string Json = "application/json";
    private const string MergePatch = "application/merge-patch+json";
    private const string ValidCreate = """{"sku":"{sku}","name":"Lamp","category":"bad-input","price":{"amount":10,"currency":"EUR"},"stock":3}""";

    /// <summary>
    /// Method, path (<c>{id}</c>: an existing product), content type, body (<c>{sku}</c>: that product's SKU), extra
    /// header, expected status, the fields a 400 must name.
    /// </summary>
    public static TheoryData<string, string, string?, string?, string?, int, string[]> Cases => new()
    {
        { "POST", "/api/products", Json, """{"sku":"","name":"","category":"x","price":{"amount":-1,"currency":"XXX"},"stock":"many"}""", null, 400, ["sku", "name", "price.amount", "price.currency", "stock"] },
        { "POST", "/api/products", Json, """{"sku": "ab-1", "name": """, null, 400, [] },
        { "POST", "/api/products", Json, "[]", null, 400, [] },
        { "POST", "/api/products", "text/plain", "sku=ab", null, 415, [] },
        { "POST", "/api/products", null, null, null, 415, [] },
        { "POST", "/api/products", Json, $$"""{"sku":"ab-1","name":"{{new string('x', 70_000)}}"}""", null, 413, [] },
        { "POST", "/api/products", Json, ValidCreate, null, 409, [] }, // the SKU of a live product
        { "POST", "/api/products", Json, ValidCreate.Replace("{sku}", "OTHER-SKU-1", StringComparison.Ordinal), "Idempotency-Key: reused-key", 422, [] },
        { "PATCH", "/api/products/{id}", MergePatch, """{"price":{"amount":5,"currency":"EURO"}}""", null, 400, ["price.currency"] },
        { "PATCH", "/api/products/{id}", MergePatch, """{"name":"Newer"}""", "If-Match: \"7\"", 412, [] },
        { "PATCH", "/api/products/not-a-uuid", MergePatch, """{"name":"x"}""", null, 400, ["id"] },
        { "PATCH", "/api/products/0195d7e8-7b5c-7e1a-9f00-000000000001", MergePatch, """{"name":"x"}""", null, 404, [] },
        { "POST", "/api/products/{id}/stock-adjustments", Json, """{"delta":-30,"reason":"sold"}""", null, 409, [] },
        { "POST", "/api/products/{id}/stock-adjustments", Json, """{"delta":0,"reason":"x"}""", null, 400, ["delta"] },
        { "DELETE", "/api/products/0195d7e8-7b5c-7e1a-9f00-000000000001", null, null, null, 404, [] },
        { "DELETE", "/api/products/{id}", null, null, "If-Match: \"9\"", 412, [] },
        { "GET", "/api/products/not-a-uuid", null, null, null, 400, ["id"] },
        { "GET", "/api/products/0195d7e8-7b5c-7e1a-9f00-000000000001", null, null, null, 404, [] },
        { "GET", "/api/products?minPrice=abc&pageSize=500", null, null, null, 400, ["minPrice", "pageSize"] },
        { "GET", "/api/products?sort=colour", null, null, null, 400, ["sort"] },
        { "GET", "/api/products?pageToken=not-a-token", null, null, null, 400, ["pageToken"] },
        { "GET", "/api/products/{id}", null, null, "X-Consistency-Token: forged", 400, [] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_bad_request_is_a_4xx_problem_details_naming_the_fields(
        string method, string path, string? contentType, string? body, string? header, int status, string[] fields)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        // A product only for the cases that name one (its id in the path, or its SKU in the body).
        var (id, sku) = path.Contains("{id}", StringComparison.Ordinal) || body?.Contains("{sku}", StringComparison.Ordinal) == true
            ? await CreateProductAsync(cancellationToken)
            : ("", "");
        using var request = new HttpRequestMessage(new HttpMethod(method), path.Replace("{id}", id, StringComparison.Ordinal));
        if (contentType is not null)
        {
            request.Content = new StringContent(body!.Replace("{sku}", sku, StringComparison.Ordinal));
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        }

        if (header?.Split(": ", 2) is [var name, var value])
        {
            if (name == "Idempotency-Key")
            {
                // The key is first used for another body, so that this request reuses it.
                value = $"{value}-{Guid.NewGuid():N}";
                using var first = await system.Gateway.SendAsync(HttpMethod.Post, "/api/products",
                    ValidCreate.Replace("{sku}", $"K-{Guid.NewGuid():N}"[..20], StringComparison.Ordinal),
                    headers: new Dictionary<string, string> { [name] = value }, cancellationToken: cancellationToken);
                Assert.Equal(HttpStatusCode.Created, first.StatusCode);
            }

            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await system.Gateway.SendAsync(request, cancellationToken);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.False(problem.GetRawText().Contains("   at ", StringComparison.Ordinal), "A stack trace reached the client.");
        if (fields.Length > 0)
        {
            var errors = problem.GetProperty("errors").EnumerateObject().Select(e => e.Name).ToArray();
            Assert.All(fields, field => Assert.Contains(field, errors));
        }
    }

    [Theory]
    [InlineData("GET", "/dapr/config")]
    [InlineData("GET", "/dapr/subscribe")]
    [InlineData("PUT", "/actors/ProductActor/0195d7e8-7b5c-7e1a-9f00-000000000001/method/Create")]
    [InlineData("DELETE", "/actors/ProductActor/0195d7e8-7b5c-7e1a-9f00-000000000001")]
    [InlineData("POST", "/events/products")]
    [InlineData("POST", "/events/products/bulk")]
    [InlineData("GET", "/internal/event-log")]
    [InlineData("GET", "/internal/dead-letters")]
    [InlineData("POST", "/internal/rebuilds/products")]
    [InlineData("GET", "/api/../internal/rebuilds/products")]
    [InlineData("GET", "/API/%2e%2e/internal/event-log")]
    [InlineData("GET", "/v1.0/state/viewstore/product%7C1")]
    [InlineData("GET", "/metrics")]
    public async Task Internal_paths_are_not_reachable_through_the_gateway(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(system.Gateway.BaseAddress!, new Uri(path, UriKind.Relative)));
        using var response = await system.Gateway.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    private async Task<(string Id, string Sku)> CreateProductAsync(CancellationToken cancellationToken)
    {
        var sku = $"BAD-{Guid.NewGuid():N}"[..20].ToUpperInvariant();
        using var created = await system.Gateway.SendAsync(HttpMethod.Post, "/api/products",
            ValidCreate.Replace("{sku}", sku, StringComparison.Ordinal), cancellationToken: cancellationToken);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return ((await created.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("id").GetString()!, sku);
    }
}
