using CqrsDapr.CommandService.Outbox;
using CqrsDapr.CommandService.Tests.Infrastructure;
using CqrsDapr.Contracts.Products;
using Microsoft.EntityFrameworkCore;

namespace CqrsDapr.CommandService.Tests.Outbox;

/// <summary>Outbox rows written the way the write path writes them (EF Core, <see cref="OutboxMessage.For{TEvent}"/>).</summary>
internal static class OutboxRows
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static OutboxMessage ProductCreated(int n)
    {
        var id = Guid.CreateVersion7();
        var snapshot = new ProductSnapshot(id, $"SKU-{n:D6}", $"Product {n}", null, "tests", new Money(9.5m, "EUR"), n, 1, DateTimeOffset.UnixEpoch);
        return OutboxMessage.For(new ProductCreated(snapshot), id.ToString(), 1, DateTimeOffset.UtcNow, $"corr-{n}", null);
    }

    /// <summary>Commits <paramref name="count"/> events in one transaction; returns their sequences.</summary>
    public static async Task<long[]> CommitAsync(string connectionString, int count, int firstNumber = 0)
    {
        await using var db = WriteDatabaseServer.CreateContext(connectionString);
        var rows = Enumerable.Range(firstNumber, count).Select(ProductCreated).ToList();
        db.Outbox.AddRange(rows);
        await db.SaveChangesAsync(Ct);
        return [.. rows.Select(r => r.Sequence)];
    }

    /// <summary>The sequences of the rows not marked published yet, in order.</summary>
    public static async Task<List<long>> UnpublishedAsync(string connectionString)
    {
        await using var db = WriteDatabaseServer.CreateContext(connectionString);
        return await db.Outbox.Where(m => m.PublishedAt == null).OrderBy(m => m.Sequence).Select(m => m.Sequence).ToListAsync(Ct);
    }

    public static async Task<List<OutboxMessage>> AllAsync(string connectionString)
    {
        await using var db = WriteDatabaseServer.CreateContext(connectionString);
        return await db.Outbox.AsNoTracking().OrderBy(m => m.Sequence).ToListAsync(Ct);
    }
}
