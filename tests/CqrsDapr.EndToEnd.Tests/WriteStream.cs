using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace CqrsDapr.EndToEnd.Tests;

/// <summary>
/// Clients writing through the gateway while a test breaks things: each writer creates a product, changes its price,
/// and deletes every fifth one, over and over. Remembers the last write the system accepted (a 2xx) for each product;
/// anything else (a 502 while the command service is down, a dropped connection) is only counted: the client cannot
/// know whether it happened, so only the write database can say. Stopping lets each writer finish the request it has
/// in flight: a write cancelled on the client may still commit, after a test has read the write database.
/// </summary>
internal sealed class WriteStream : IAsyncDisposable
{
    private readonly HttpClient gateway;
    private readonly CancellationTokenSource stop = new();
    private readonly Task[] writers;
    private readonly Signal accepted = new();
    private int failed;

    private WriteStream(HttpClient gateway, int writers)
    {
        this.gateway = gateway;
        this.writers = Enumerable.Range(0, writers).Select(_ => Task.Run(WriteAsync)).ToArray();
    }

    /// <summary>The last accepted write per product.</summary>
    public ConcurrentDictionary<string, AcceptedWrite> Accepted { get; } = new(StringComparer.Ordinal);

    /// <summary>Writes answered with anything but a 2xx, or not answered.</summary>
    public int Failed => Volatile.Read(ref failed);

    public int AcceptedCount => Accepted.Count;

    public static WriteStream Start(HttpClient gateway, int writers = 4) => new(gateway, writers);

    /// <summary>Waits until at least <paramref name="count"/> more products have an accepted write.</summary>
    public async Task WaitForMoreAsync(int count, TimeSpan timeout)
    {
        var target = Accepted.Count + count;
        if (!await accepted.WaitUntilAsync(() => Accepted.Count >= target, timeout))
        {
            throw new TimeoutException($"Fewer than {count} more writes accepted within {timeout} ({Failed} failed so far).");
        }
    }

    public async Task StopAsync()
    {
        await stop.CancelAsync();
        await Task.WhenAll(writers);
    }

    private bool Stopping => stop.IsCancellationRequested;

    public async ValueTask DisposeAsync()
    {
        if (!stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        stop.Dispose();
    }

    private async Task WriteAsync()
    {
        var round = 0;
        while (!Stopping)
        {
            var id = await CreateAsync();
            if (id is not null && !Stopping
                && await SendAsync(HttpMethod.Patch, $"/api/products/{id}", """{"price":{"amount":12.5,"currency":"EUR"}}""", id)
                && ++round % 5 == 0 && !Stopping)
            {
                await SendAsync(HttpMethod.Delete, $"/api/products/{id}", body: null, id);
            }
        }
    }

    private async Task<string?> CreateAsync()
    {
        var sku = $"F-{Guid.NewGuid():N}"[..24];
        var body = $$"""{"sku":"{{sku}}","name":"Fault lamp","category":"faults","price":{"amount":10,"currency":"EUR"},"stock":5}""";
        var (ok, id) = await SendForIdAsync(HttpMethod.Post, "/api/products", body, "application/json");
        return ok ? id : null;
    }

    private async Task<bool> SendAsync(HttpMethod method, string path, string? body, string id)
    {
        var (ok, _) = await SendForIdAsync(method, path, body, "application/merge-patch+json", id);
        return ok;
    }

    /// <remarks>Never cancelled: the write runs to its answer (the client's timeout bounds it).</remarks>
    private async Task<(bool Ok, string? Id)> SendForIdAsync(
        HttpMethod method, string path, string? body, string contentType, string? knownId = null)
    {
        try
        {
            using var request = new HttpRequestMessage(method, path);
            if (body is not null)
            {
                request.Content = new StringContent(body, System.Text.Encoding.UTF8, contentType);
            }

            using var response = await gateway.SendAsync(request);
            if (!response.IsSuccessStatusCode)
            {
                Interlocked.Increment(ref failed);
                await Task.Delay(20); // a down service answers at once: do not spin
                return (false, null);
            }

            var token = response.Headers.GetValues(ProductApi.ConsistencyToken).Single();
            var id = knownId;
            long version;
            if (response.StatusCode == HttpStatusCode.NoContent)
            {
                version = long.Parse(response.Headers.ETag!.Tag.Trim('"'), System.Globalization.CultureInfo.InvariantCulture);
            }
            else
            {
                var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
                id = accepted.GetProperty("id").GetString()!;
                version = accepted.GetProperty("version").GetInt64();
            }

            Accepted[id!] = new AcceptedWrite(id!, version, method == HttpMethod.Delete, token);
            accepted.Raise();
            return (true, id);
        }
        catch (HttpRequestException)
        {
            Interlocked.Increment(ref failed);
            await Task.Delay(20);
            return (false, null);
        }
    }
}

/// <summary>A write the system answered with a 2xx: the product's version after it, and its consistency token.</summary>
internal sealed record AcceptedWrite(string Id, long Version, bool Deleted, string Token);
