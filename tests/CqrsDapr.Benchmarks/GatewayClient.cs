using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace CqrsDapr.Benchmarks;

/// <summary>
/// The system's public API as the benchmark uses it: one pooled <see cref="HttpClient"/> (HTTP/1.1 keep-alive, up to
/// the configured number of connections, no proxy, no cookies) for every request of the run. A request that fails
/// without an answer (timeout, refused connection) has status 0.
/// </summary>
internal sealed class GatewayClient : IDisposable
{
    public const string ConsistencyTokenHeader = "X-Consistency-Token";
    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private readonly HttpClient client;
    private readonly Uri products;
    private readonly string skuPrefix = $"B{Guid.NewGuid():N}"[..13]; // unique per run: no 409 for a duplicate SKU
    private long created;
    private int rateLimited;

    public GatewayClient(Uri gateway, int connections)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            // Below Kestrel's keep-alive timeout (130 s): a connection the gateway closed while idle in this pool failed
            // the request that took it next (3 connection errors in 94,000 requests after the load dropped, once).
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
        };
        client = new HttpClient(handler) { BaseAddress = gateway, Timeout = TimeSpan.FromSeconds(30) };
        products = new Uri(gateway, "/api/products");
    }

    /// <summary>Answers 429 so far: the gateway's per-client rate limit is too low for a benchmark.</summary>
    public int RateLimited => Volatile.Read(ref rateLimited);

    /// <summary>The address of a product, made once per id so GET loops allocate no URIs.</summary>
    public Uri Product(string id) => new(products + "/" + id);

    /// <summary>POST /api/products with a fresh SKU: the status, the new id (from Location) and the consistency token.</summary>
    public async Task<(int Status, string? Id, string? Token)> CreateAsync()
    {
        var answer = await CreateAsync(NextNumber());
        return (answer.Status, answer.Id, answer.Token);
    }

    /// <summary>A number not used yet in this run: <see cref="CreateAsync(long)"/> makes the product's SKU from it.</summary>
    public long NextNumber() => Interlocked.Increment(ref created);

    /// <summary>
    /// POST /api/products for product <paramref name="number"/> (its SKU is made from it, so sending the same number
    /// again sends the same product: 409 duplicate-sku if the first one was created). An error answer's problem
    /// <c>code</c> is read from its body.
    /// </summary>
    public async Task<Answer> CreateAsync(long number)
    {
        var body = string.Create(CultureInfo.InvariantCulture,
            $$"""{"sku":"{{skuPrefix}}-{{number}}","name":"Benchmark product {{number}}","description":"system benchmark","category":"bench-{{number % 10}}","price":{"amount":{{1 + (number % 500)}}.99,"currency":"EUR"},"stock":100}""");
        using var request = new HttpRequestMessage(HttpMethod.Post, products) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)) };
        request.Content.Headers.ContentType = Json;
        return await SendAsync(request, created: true);
    }

    /// <summary>GET a product, with a consistency token when given (the query service then waits for that write).</summary>
    public async Task<int> GetAsync(Uri product, string? token = null) => (await ReadAsync(product, token)).Status;

    /// <summary>GET a product (see <see cref="GetAsync"/>), with an error answer's problem <c>code</c>.</summary>
    public async Task<Answer> ReadAsync(Uri product, string? token = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, product);
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation(ConsistencyTokenHeader, token);
        }

        return await SendAsync(request, created: false);
    }

    /// <summary>
    /// GETs the product with the write's token until it answers anything but 503 (each attempt waits up to the query
    /// service's Consistency:MaxWait, so no client-side sleep) or <paramref name="limit"/> has passed: the last status.
    /// </summary>
    public async Task<int> WaitVisibleAsync(string id, string token, TimeSpan limit)
    {
        var started = Stopwatch.GetTimestamp();
        var product = Product(id);
        int status;
        while ((status = await GetAsync(product, token)) is 503 or 0 && Stopwatch.GetElapsedTime(started) < limit)
        {
        }

        return status;
    }

    /// <summary>The gateway's own health endpoint (never rate limited): is anything there at all?</summary>
    public async Task<bool> IsHealthyAsync()
    {
        try
        {
            using var response = await client.GetAsync(new Uri("/health", UriKind.Relative));
            return response.IsSuccessStatusCode;
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    public void Dispose() => client.Dispose();

    private async Task<Answer> SendAsync(HttpRequestMessage request, bool created)
    {
        try
        {
            using var response = await client.SendAsync(request);
            var status = Counted((int)response.StatusCode);
            var retryAfter = response.Headers.RetryAfter is not null;
            if (status is < 200 or > 299)
            {
                return new Answer(status, await ProblemCodeAsync(response), retryAfter);
            }

            if (!created)
            {
                return new Answer(status, null, retryAfter);
            }

            var location = response.Headers.Location?.OriginalString;
            var id = location?[(location.LastIndexOf('/') + 1)..];
            var token = response.Headers.TryGetValues(ConsistencyTokenHeader, out var values) ? values.FirstOrDefault() : null;
            return new Answer(status, null, retryAfter, id, token);
        }
        catch (TaskCanceledException)
        {
            return new Answer(0, Answer.Timeout, false);
        }
        catch (HttpRequestException)
        {
            return new Answer(0, Answer.ConnectionError, false);
        }
    }

    /// <summary>The <c>code</c> member of a problem+json body, null for any other body.</summary>
    private static async Task<string?> ProblemCodeAsync(HttpResponseMessage response)
    {
        if (response.Content.Headers.ContentType?.MediaType is not { } type || !type.EndsWith("json", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        try
        {
            using var document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync());
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.String
                ? code.GetString()
                : null;
        }
        catch (Exception exception) when (exception is JsonException or HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    private int Counted(int status)
    {
        if (status == 429)
        {
            Interlocked.Increment(ref rateLimited);
        }

        return status;
    }
}
