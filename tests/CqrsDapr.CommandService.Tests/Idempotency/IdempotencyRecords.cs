using CqrsDapr.CommandService.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace CqrsDapr.CommandService.Tests.Idempotency;

/// <summary>Idempotency records arranged and read directly in a test's database.</summary>
internal static class IdempotencyRecords
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Inserts <paramref name="count"/> records keyed <c>{prefix}1…{prefix}{count}</c>, created at <paramref name="createdAt"/>.</summary>
    public static async Task SeedAsync(string connectionString, string prefix, int count, DateTimeOffset createdAt)
    {
        await using var db = WriteDatabaseServer.CreateContext(connectionString);
        await db.Database.ExecuteSqlAsync(
            $"""
            INSERT INTO idempotency_records (key, request_fingerprint, status_code, created_at)
            SELECT {prefix} || i, 'fingerprint', 201, {createdAt} FROM generate_series(1, {count}) AS i
            """,
            Ct);
    }

    public static async Task<List<string>> KeysAsync(string connectionString)
    {
        await using var db = WriteDatabaseServer.CreateContext(connectionString);
        return await db.IdempotencyRecords.Select(r => r.Key).OrderBy(k => k).ToListAsync(Ct);
    }
}
