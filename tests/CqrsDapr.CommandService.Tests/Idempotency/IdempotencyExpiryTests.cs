using System.Net;
using CqrsDapr.CommandService.Idempotency;
using CqrsDapr.CommandService.Tests.Infrastructure;
using CqrsDapr.CommandService.Tests.Products;
using Microsoft.EntityFrameworkCore;

namespace CqrsDapr.CommandService.Tests.Idempotency;

/// <summary>
/// <c>Idempotency-Key</c> through HTTP → sidecar → actor → database on a fake clock: a key replays for
/// <c>Idempotency:Retention</c>, then runs as a new request, even though no sweep has deleted its record.
/// </summary>
public sealed class IdempotencyExpiryTests(FakeClockCommandServiceHost host) : IClassFixture<FakeClockCommandServiceHost>
{
    private static readonly TimeSpan Retention = new IdempotencyOptions().Retention;

    private readonly ProductApi api = new(host);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_retry_within_the_retention_replays_the_first_response()
    {
        var key = Guid.NewGuid().ToString();
        var body = ProductApi.NewProduct();
        using var first = await api.CreateAsync(body, key);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var before = await host.RowCountsAsync();

        host.Clock.Advance(Retention - TimeSpan.FromSeconds(1));
        using var retry = await api.CreateAsync(body, key);

        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(first.Headers.Location, retry.Headers.Location);
        Assert.Equal(await first.Content.ReadAsStringAsync(Ct), await retry.Content.ReadAsStringAsync(Ct));
        Assert.Equal(before, await host.RowCountsAsync());
    }

    [Fact]
    public async Task A_retry_after_the_retention_runs_as_a_new_command_although_the_record_was_not_swept()
    {
        var id = await api.AProductAsync(stock: 10);
        var key = Guid.NewGuid().ToString();
        using var first = await api.AdjustStockAsync(id, -1, idempotencyKey: key);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var before = await host.RowCountsAsync();

        host.Clock.Advance(Retention + TimeSpan.FromSeconds(1));
        Assert.Equal(first.Headers.ETag?.ToString(), await ETagStoredForAsync(key)); // not swept
        using var retry = await api.AdjustStockAsync(id, -1, idempotencyKey: key);

        Assert.True(retry.StatusCode == HttpStatusCode.OK, $"{(int)retry.StatusCode} {await retry.Content.ReadAsStringAsync(Ct)}\n{host.Logs.Tail()}");
        Assert.Equal("\"3\"", retry.Headers.ETag?.ToString()); // applied again, not replayed
        Assert.Equal((before.Products, before.Outbox + 1, before.IdempotencyRecords), await host.RowCountsAsync());
        Assert.Equal("\"3\"", await ETagStoredForAsync(key)); // the expired record was replaced

        using var again = await api.AdjustStockAsync(id, -1, idempotencyKey: key); // the new record replays
        Assert.Equal("\"3\"", again.Headers.ETag?.ToString());
        await using var db = host.Database();
        Assert.Equal(8, (await db.Products.SingleAsync(p => p.Id == id, Ct)).Stock);
    }

    [Fact]
    public async Task After_the_retention_a_key_may_carry_a_different_request()
    {
        var key = Guid.NewGuid().ToString();
        using var first = await api.CreateAsync(ProductApi.NewProduct(), key);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);

        host.Clock.Advance(Retention + TimeSpan.FromSeconds(1));
        using var other = await api.CreateAsync(ProductApi.NewProduct(), key); // within the retention: 422

        Assert.True(other.StatusCode == HttpStatusCode.Created, $"{(int)other.StatusCode} {await other.Content.ReadAsStringAsync(Ct)}\n{host.Logs.Tail()}");
        Assert.NotEqual(first.Headers.Location, other.Headers.Location);
    }

    private async Task<string?> ETagStoredForAsync(string key)
    {
        await using var db = host.Database();
        return await db.IdempotencyRecords.Where(r => r.Key.EndsWith(" " + key)).Select(r => r.ETag).SingleAsync(Ct);
    }
}
