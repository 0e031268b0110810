using System.Net;
using System.Text.Json;
using CqrsDapr.CommandService.Tests.Infrastructure;
using CqrsDapr.Contracts;
using Microsoft.EntityFrameworkCore;

namespace CqrsDapr.CommandService.Tests.Products;

/// <summary>Concurrent commands on one product: the actor's turns serialize them, the version token catches the rest.</summary>
public sealed class ProductConcurrencyTests(CommandServiceHost host) : IClassFixture<CommandServiceHost>
{
    private readonly ProductApi api = new(host);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Fifty_concurrent_stock_adjustments_on_one_product_are_each_applied_exactly_once()
    {
        const int adjustments = 50;
        var id = await api.AProductAsync(stock: 0);

        var responses = await Task.WhenAll(Enumerable.Range(0, adjustments).Select(i => api.AdjustStockAsync(id, 1, reason: $"restock {i}")));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var versions = new List<long>();
        foreach (var response in responses)
        {
            versions.Add((await ProductApi.BodyAsync(response)).GetProperty("version").GetInt64());
            response.Dispose();
        }

        Assert.Equal(Enumerable.Range(2, adjustments).Select(v => (long)v), versions.Order());
        await using var db = host.Database();
        var product = await db.Products.SingleAsync(p => p.Id == id, Ct);
        Assert.Equal((adjustments, adjustments + 1L), (product.Stock, product.Version));
        var rows = await db.Outbox.Where(m => m.AggregateId == id.ToString("D") && m.EventType == "ProductStockAdjusted")
            .OrderBy(m => m.AggregateVersion).ToListAsync(Ct);
        Assert.Equal(Enumerable.Range(2, adjustments).Select(v => (long)v), rows.Select(r => r.AggregateVersion));
        // Each event carries the stock after its own change: 1, 2, ... 50 in version order.
        Assert.Equal(Enumerable.Range(1, adjustments),
            rows.Select(r => JsonSerializer.Deserialize(r.Payload, ContractsJson.Default.ProductStockAdjusted)!.Product.Stock));
    }

    [Fact]
    public async Task Concurrent_removals_never_take_stock_below_zero()
    {
        var id = await api.AProductAsync(stock: 10);

        var responses = await Task.WhenAll(Enumerable.Range(0, 15).Select(_ => api.AdjustStockAsync(id, -1)));

        Assert.Equal(10, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Equal(5, responses.Count(r => r.StatusCode == HttpStatusCode.Conflict));
        await using var db = host.Database();
        var product = await db.Products.SingleAsync(p => p.Id == id, Ct);
        Assert.Equal((0, 11L), (product.Stock, product.Version));
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task Two_writers_racing_below_the_actor_cannot_both_save_the_same_version()
    {
        var id = await api.AProductAsync(stock: 5);
        await using var first = host.Database();
        await using var second = host.Database();
        var mine = await first.Products.SingleAsync(p => p.Id == id, Ct);
        var theirs = await second.Products.SingleAsync(p => p.Id == id, Ct);
        Assert.Equal(mine.Version, theirs.Version);

        mine.Stock += 1;
        mine.Version += 1;
        theirs.Stock += 100;
        theirs.Version += 1;
        await first.SaveChangesAsync(Ct);

        await Assert.ThrowsAsync<DbUpdateConcurrencyException>(() => second.SaveChangesAsync(Ct));
        await using var check = host.Database();
        var stored = await check.Products.SingleAsync(p => p.Id == id, Ct);
        Assert.Equal((6, 2L), (stored.Stock, stored.Version));
    }

    [Fact]
    public async Task After_a_write_below_the_actor_the_next_command_decides_on_the_new_state()
    {
        var id = await api.AProductAsync(stock: 5);
        await using (var below = host.Database())
        {
            var product = await below.Products.SingleAsync(p => p.Id == id, Ct);
            product.Stock = 1;
            product.Version = 2;
            await below.SaveChangesAsync(Ct);
        }

        using var tooMany = await api.AdjustStockAsync(id, -2);
        using var stale = await api.AdjustStockAsync(id, -1, ifMatch: "\"1\"");
        using var current = await api.AdjustStockAsync(id, -1, ifMatch: "\"2\"");

        Assert.Equal(HttpStatusCode.Conflict, tooMany.StatusCode);
        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.StatusCode);
        Assert.Equal(HttpStatusCode.OK, current.StatusCode);
        Assert.Equal(3, (await ProductApi.BodyAsync(current)).GetProperty("version").GetInt64());
    }
}
