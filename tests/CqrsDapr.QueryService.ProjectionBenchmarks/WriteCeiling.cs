using System.Diagnostics;
using Npgsql;
using NpgsqlTypes;

namespace CqrsDapr.QueryService.ProjectionBenchmarks;

/// <summary>
/// What PostgreSQL alone costs for the rebuild's writes, without any sidecar: the views the last rebuild saved (their
/// JSON as stored by state.postgresql v1) written again into scratch tables shaped like the state table, three ways —
/// one INSERT per view on 4 connections (what a bulk save through state.postgresql v1 does: one statement and commit
/// per item, pool of max(4, cores)), one multi-row INSERT ... ON CONFLICT DO NOTHING per 1,000 views (keeps
/// first-write semantics), and one binary COPY. Shows how much of a bulk save is the sidecar and how much the database.
/// </summary>
internal static class WriteCeiling
{
    private const string Table = "(key text NOT NULL PRIMARY KEY, value jsonb NOT NULL, isbinary boolean NOT NULL, insertdate timestamptz NOT NULL DEFAULT now(), updatedate timestamptz NULL, expiredate timestamptz NULL)";

    public static async Task<string> MeasureAsync(string readDb, int views)
    {
        var rows = new List<(string Key, string Value)>(views);
        await using (var connection = new NpgsqlConnection(readDb))
        {
            await connection.OpenAsync();
            await using var select = new NpgsqlCommand("SELECT key, value::text FROM state ORDER BY insertdate DESC LIMIT @n", connection);
            select.Parameters.AddWithValue("n", views);
            await using (var reader = await select.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    rows.Add((reader.GetString(0), reader.GetString(1)));
                }
            }

            foreach (var name in new[] { "ceiling_rows", "ceiling_batches", "ceiling_copy" })
            {
                await using var create = new NpgsqlCommand($"DROP TABLE IF EXISTS {name}; CREATE TABLE {name} {Table}", connection);
                await create.ExecuteNonQueryAsync();
            }
        }

        var perRow = await TimeAsync(() => PerRowAsync(readDb, rows));
        var batches = await TimeAsync(() => BatchesAsync(readDb, rows));
        var copy = await TimeAsync(() => CopyAsync(readDb, rows));
        return $"{rows.Count} views straight into PostgreSQL, no sidecar: one INSERT each on 4 connections {Rate(perRow, rows.Count)}; " +
            $"multi-row INSERT ... ON CONFLICT DO NOTHING per 1000 {Rate(batches, rows.Count)}; binary COPY {Rate(copy, rows.Count)}";
    }

    private static async Task PerRowAsync(string readDb, List<(string Key, string Value)> rows)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            await using var connection = new NpgsqlConnection(readDb);
            await connection.OpenAsync();
            await using var insert = new NpgsqlCommand(
                "INSERT INTO ceiling_rows (key, value, isbinary, expiredate) VALUES (@key, @value, false, NULL) ON CONFLICT (key) DO NOTHING", connection);
            var key = insert.Parameters.Add("key", NpgsqlDbType.Text);
            var value = insert.Parameters.Add("value", NpgsqlDbType.Jsonb);
            await insert.PrepareAsync();
            for (var i = Interlocked.Increment(ref next); i < rows.Count; i = Interlocked.Increment(ref next))
            {
                (key.Value, value.Value) = rows[i];
                await insert.ExecuteNonQueryAsync();
            }
        }));
    }

    private static async Task BatchesAsync(string readDb, List<(string Key, string Value)> rows)
    {
        await using var connection = new NpgsqlConnection(readDb);
        await connection.OpenAsync();
        foreach (var chunk in rows.Chunk(1000))
        {
            await using var insert = new NpgsqlCommand(
                "INSERT INTO ceiling_batches (key, value, isbinary) SELECT k, v, false FROM unnest(@keys, @values) AS u(k, v) ON CONFLICT (key) DO NOTHING", connection);
            insert.Parameters.Add(new NpgsqlParameter<string[]>("keys", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. chunk.Select(r => r.Key)] });
            insert.Parameters.Add(new NpgsqlParameter<string[]>("values", NpgsqlDbType.Array | NpgsqlDbType.Jsonb) { TypedValue = [.. chunk.Select(r => r.Value)] });
            await insert.ExecuteNonQueryAsync();
        }
    }

    private static async Task CopyAsync(string readDb, List<(string Key, string Value)> rows)
    {
        await using var connection = new NpgsqlConnection(readDb);
        await connection.OpenAsync();
        await using var writer = await connection.BeginBinaryImportAsync("COPY ceiling_copy (key, value, isbinary) FROM STDIN (FORMAT BINARY)");
        foreach (var (key, value) in rows)
        {
            await writer.StartRowAsync();
            await writer.WriteAsync(key, NpgsqlDbType.Text);
            await writer.WriteAsync(value, NpgsqlDbType.Jsonb);
            await writer.WriteAsync(false, NpgsqlDbType.Boolean);
        }

        await writer.CompleteAsync();
    }

    private static async Task<TimeSpan> TimeAsync(Func<Task> write)
    {
        var clock = Stopwatch.StartNew();
        await write();
        return clock.Elapsed;
    }

    private static string Rate(TimeSpan elapsed, int count) => $"{elapsed.TotalSeconds:F2} s ({count / elapsed.TotalSeconds:F0}/s)";
}
