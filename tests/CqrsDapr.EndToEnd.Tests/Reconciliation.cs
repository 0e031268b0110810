using System.Net;
using Npgsql;

namespace CqrsDapr.EndToEnd.Tests;

/// <summary>
/// What must hold after any fault, once the system has caught up: every write a client saw accepted is in the views,
/// exactly once; and the views agree with the write database, the source of truth, product by product (same live
/// set, same version; deleted products are 404).
/// </summary>
internal static class Reconciliation
{
    private static readonly TimeSpan CatchUp = TimeSpan.FromSeconds(90);

    /// <summary>
    /// No write a client saw accepted is lost: the write database has each product at (at least) that version, and
    /// deleted when the accepted write was a delete. A higher version is a later write whose answer never reached the
    /// client (the command service crashed after its commit).
    /// </summary>
    public static async Task AssertNoAcceptedWriteIsLostAsync(
        SystemFixture system, IReadOnlyCollection<AcceptedWrite> accepted, CancellationToken cancellationToken)
    {
        var (live, deleted) = await ReadWriteDatabaseAsync(system.WriteDatabase, cancellationToken);
        var lost = accepted.Where(write => write.Deleted
                ? !deleted.ContainsKey(write.Id)
                : !(live.TryGetValue(write.Id, out var version) || deleted.TryGetValue(write.Id, out version)) || version < write.Version)
            .Select(write => $"{write.Id} v{write.Version}{(write.Deleted ? " (delete)" : "")}")
            .ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} of {accepted.Count} accepted writes are not in the write database: {string.Join("; ", lost.Take(10))}");
    }

    /// <summary>
    /// Each accepted write is visible through the gateway to a client reading with its consistency token: the product
    /// at that version or later, or 404 once it is deleted (by that write or a later one).
    /// </summary>
    public static async Task AssertEveryAcceptedWriteIsVisibleAsync(
        SystemFixture system, IReadOnlyCollection<AcceptedWrite> accepted, CancellationToken cancellationToken)
    {
        var (_, deleted) = await ReadWriteDatabaseAsync(system.WriteDatabase, cancellationToken);
        var deadline = DateTimeOffset.UtcNow + CatchUp;
        var wrong = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Parallel.ForEachAsync(accepted, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (write, ct) =>
        {
            var (status, body) = await system.Gateway.ReadOwnWriteAsync(write.Id, write.Token, deadline, ct);
            var expected = deleted.ContainsKey(write.Id) ? HttpStatusCode.NotFound : HttpStatusCode.OK;
            if (status != expected)
            {
                wrong.Add($"{write.Id}: {(int)status}, expected {(int)expected} after version {write.Version}");
            }
            else if (status == HttpStatusCode.OK && body.GetProperty("version").GetInt64() < write.Version)
            {
                wrong.Add($"{write.Id}: version {body.GetProperty("version").GetInt64()}, accepted {write.Version}");
            }
        });

        if (!wrong.IsEmpty)
        {
            var details = await DescribeAsync(system, wrong.Take(3).Select(w => w.Split(':')[0]), cancellationToken);
            Assert.Fail($"{wrong.Count} of {accepted.Count} accepted writes not visible: {string.Join("; ", wrong.Take(10))}{details}");
        }
    }

    /// <summary>
    /// The views equal the write database: the list shows each live product once with its current version, and no
    /// other; deleted products answer 404. Retried until the system catches up (writes whose answer a client never
    /// got may still be on their way), then reported with the differences.
    /// </summary>
    public static async Task AssertViewsMatchWriteDatabaseAsync(SystemFixture system, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + CatchUp;
        while (true)
        {
            var (live, deleted) = await ReadWriteDatabaseAsync(system.WriteDatabase, cancellationToken);
            var listed = await system.Gateway.ListAllAsync(cancellationToken);
            var differences = live.Where(p => !listed.TryGetValue(p.Key, out var version) || version != p.Value)
                .Select(p => $"{p.Key}: write db v{p.Value}, view {(listed.TryGetValue(p.Key, out var v) ? $"v{v}" : "missing")}")
                .Concat(listed.Keys.Where(id => !live.ContainsKey(id)).Select(id => $"{id}: listed but {(deleted.ContainsKey(id) ? "deleted" : "unknown")} in the write db"))
                .ToList();
            if (differences.Count == 0)
            {
                await AssertDeletedAreGoneAsync(system.Gateway, deleted.Keys, cancellationToken);
                return;
            }

            if (DateTimeOffset.UtcNow > deadline)
            {
                var details = await DescribeAsync(system, differences.Take(3).Select(d => d.Split(':')[0]), cancellationToken);
                Assert.Fail($"Views differ from the write database in {differences.Count} products: {string.Join("; ", differences.Take(10))}{details}");
            }

            await Task.Delay(500, cancellationToken);
        }
    }

    private static async Task AssertDeletedAreGoneAsync(HttpClient gateway, IReadOnlyCollection<string> deleted, CancellationToken cancellationToken)
    {
        var found = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Parallel.ForEachAsync(deleted, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (id, ct) =>
        {
            using var response = await gateway.GetAsync($"/api/products/{id}", ct);
            if (response.StatusCode != HttpStatusCode.NotFound)
            {
                found.Add($"{id}: {(int)response.StatusCode}");
            }
        });

        Assert.True(found.IsEmpty, $"Deleted products still readable: {string.Join("; ", found.Take(10))}");
    }

    /// <summary>For a failure message: what the write database, the outbox and the views say about some products.</summary>
    private static async Task<string> DescribeAsync(SystemFixture system, IEnumerable<string> ids, CancellationToken cancellationToken)
    {
        var text = new System.Text.StringBuilder();
        await using var connection = new NpgsqlConnection(system.WriteDatabase);
        await connection.OpenAsync(cancellationToken);
        foreach (var id in ids)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"\n{id}:");
            await using (var product = new NpgsqlCommand("SELECT version, is_deleted FROM products WHERE id = @id", connection))
            {
                product.Parameters.AddWithValue("id", Guid.Parse(id));
                await using var reader = await product.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    text.Append(System.Globalization.CultureInfo.InvariantCulture, $" write db v{reader.GetInt64(0)} deleted={reader.GetBoolean(1)};");
                }
            }

            await using (var outbox = new NpgsqlCommand(
                "SELECT sequence, aggregate_version, event_type, published_at, attempts FROM outbox WHERE aggregate_id = @id ORDER BY sequence", connection))
            {
                outbox.Parameters.AddWithValue("id", id);
                await using var reader = await outbox.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    text.Append(System.Globalization.CultureInfo.InvariantCulture,
                        $" outbox #{reader.GetInt64(0)} v{reader.GetInt64(1)} {reader.GetString(2)} published {(reader.IsDBNull(3) ? "never" : reader.GetDateTime(3).ToString("HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture))} attempts {reader.GetInt32(4)};");
                }
            }

            using var view = await system.Gateway.GetAsync($"/api/products/{id}", cancellationToken);
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $" view {(int)view.StatusCode} {await view.Content.ReadAsStringAsync(cancellationToken)}");
        }

        return text.ToString();
    }

    /// <summary>Every product in the write database: live ones and deleted ones, id → version.</summary>
    private static async Task<(Dictionary<string, long> Live, Dictionary<string, long> Deleted)> ReadWriteDatabaseAsync(
        string connectionString, CancellationToken cancellationToken)
    {
        var live = new Dictionary<string, long>(StringComparer.Ordinal);
        var deleted = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT id, version, is_deleted FROM products", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            (reader.GetBoolean(2) ? deleted : live).Add(reader.GetGuid(0).ToString(), reader.GetInt64(1));
        }

        return (live, deleted);
    }
}
