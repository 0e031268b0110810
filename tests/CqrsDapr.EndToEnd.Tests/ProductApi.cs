using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace CqrsDapr.EndToEnd.Tests;

/// <summary>The public product API as a client sees it through the gateway.</summary>
internal static class ProductApi
{
    public const string ConsistencyToken = "X-Consistency-Token";

    public static async Task<HttpResponseMessage> SendAsync(
        this HttpClient gateway, HttpMethod method, string path, string? json = null, string? token = null,
        string contentType = "application/json", IReadOnlyDictionary<string, string>? headers = null,
        CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, System.Text.Encoding.UTF8, contentType);
        }

        if (token is not null)
        {
            request.Headers.Add(ConsistencyToken, token);
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return await gateway.SendAsync(request, cancellationToken);
    }

    /// <summary>
    /// Reads a product with the consistency token of a write, as a client that must see its own write does: the query
    /// service waits for it (bounded) and answers 503 while the views are behind; a service that is down answers 502.
    /// Both are retried until <paramref name="deadline"/>. Returns the final response's status and body.
    /// </summary>
    public static async Task<(HttpStatusCode Status, JsonElement Body)> ReadOwnWriteAsync(
        this HttpClient gateway, string id, string token, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        while (true)
        {
            using var response = await gateway.SendAsync(HttpMethod.Get, $"/api/products/{id}", token: token, cancellationToken: cancellationToken);
            var retry = response.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.BadGateway or HttpStatusCode.GatewayTimeout;
            if (!retry || DateTimeOffset.UtcNow > deadline)
            {
                var body = response.Content.Headers.ContentLength is 0
                    ? default
                    : await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
                return (response.StatusCode, body);
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>Every product the list endpoint shows, page by page: id → version. Fails on an id listed twice.</summary>
    public static async Task<Dictionary<string, long>> ListAllAsync(this HttpClient gateway, CancellationToken cancellationToken)
    {
        var listed = new Dictionary<string, long>(StringComparer.Ordinal);
        string? pageToken = null;
        do
        {
            var path = "/api/products?pageSize=100" + (pageToken is null ? "" : $"&pageToken={Uri.EscapeDataString(pageToken)}");
            var page = await gateway.GetFromJsonAsync<JsonElement>(path, cancellationToken);
            foreach (var item in page.GetProperty("items").EnumerateArray())
            {
                var id = item.GetProperty("id").GetString()!;
                Assert.True(listed.TryAdd(id, item.GetProperty("version").GetInt64()), $"Product {id} is listed twice.");
            }

            pageToken = page.TryGetProperty("nextPageToken", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
        }
        while (pageToken is not null);

        return listed;
    }
}
