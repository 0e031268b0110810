using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;

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
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
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
        var n = Interlocked.Increment(ref created);
        var body = string.Create(CultureInfo.InvariantCulture,
            $$"""{"sku":"{{skuPrefix}}-{{n}}","name":"Benchmark product {{n}}","description":"system benchmark","category":"bench-{{n % 10}}","price":{"amount":{{1 + (n % 500)}}.99,"currency":"EUR"},"stock":100}""");
        using var request = new HttpRequestMessage(HttpMethod.Post, products) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)) };
        request.Content.Headers.ContentType = Json;
        try
        {
            using var response = await client.SendAsync(request);
            var status = Counted((int)response.StatusCode);
            if (status is < 200 or > 299)
            {
                return (status, null, null);
            }

            var location = response.Headers.Location?.OriginalString;
            var id = location?[(location.LastIndexOf('/') + 1)..];
            var token = response.Headers.TryGetValues(ConsistencyTokenHeader, out var values) ? values.FirstOrDefault() : null;
            return (status, id, token);
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
        {
            return (0, null, null);
        }
    }

    /// <summary>GET a product, with a consistency token when given (the query service then waits for that write).</summary>
    public async Task<int> GetAsync(Uri product, string? token = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, product);
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation(ConsistencyTokenHeader, token);
        }

        try
        {
            using var response = await client.SendAsync(request);
            return Counted((int)response.StatusCode);
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
        {
            return 0;
        }
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

    private int Counted(int status)
    {
        if (status == 429)
        {
            Interlocked.Increment(ref rateLimited);
        }

        return status;
    }
}
