using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CqrsDapr.CommandService.Tests.Infrastructure;

namespace CqrsDapr.CommandService.Tests.Products;

/// <summary>The product endpoints as a client calls them, and what they answered.</summary>
internal sealed class ProductApi(CommandServiceHost host)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static object NewProduct(string? sku = null, int stock = 12) => new
    {
        sku = sku ?? "sku-" + Guid.NewGuid().ToString("N")[..12],
        name = "Desk lamp",
        description = "Warm light",
        category = "lighting",
        price = new { amount = 39.90m, currency = "eur" },
        stock,
    };

    public Task<HttpResponseMessage> CreateAsync(object body, string? idempotencyKey = null) =>
        SendAsync(HttpMethod.Post, "/api/products", Json(body), idempotencyKey: idempotencyKey);

    /// <summary>Creates a product and returns its id (asserting the 201).</summary>
    public async Task<Guid> AProductAsync(int stock = 12)
    {
        using var response = await CreateAsync(NewProduct(stock: stock));
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created,
            $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Ct)}\n{host.Logs.Tail()}");
        return (await BodyAsync(response)).GetProperty("id").GetGuid();
    }

    public Task<HttpResponseMessage> PatchAsync(object id, object body, string? ifMatch = null, string contentType = "application/merge-patch+json") =>
        SendAsync(HttpMethod.Patch, $"/api/products/{id}", Json(body, contentType), ifMatch);

    public Task<HttpResponseMessage> AdjustStockAsync(object id, int delta, string reason = "sold", string? ifMatch = null, string? idempotencyKey = null) =>
        SendAsync(HttpMethod.Post, $"/api/products/{id}/stock-adjustments", Json(new { delta, reason }), ifMatch, idempotencyKey);

    public Task<HttpResponseMessage> DeleteAsync(object id, string? ifMatch = null) =>
        SendAsync(HttpMethod.Delete, $"/api/products/{id}", content: null, ifMatch);

    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? content, string? ifMatch = null, string? idempotencyKey = null, string? correlationId = null)
    {
        var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative)) { Content = content };
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        if (correlationId is not null)
        {
            request.Headers.Add("X-Correlation-Id", correlationId);
        }

        return host.Client.SendAsync(request, Ct);
    }

    public static StringContent Json(object body, string contentType = "application/json") =>
        Raw(JsonSerializer.Serialize(body), contentType);

    public static StringContent Raw(string body, string contentType)
    {
        var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return content;
    }

    public static async Task<JsonElement> BodyAsync(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).Clone();
}
