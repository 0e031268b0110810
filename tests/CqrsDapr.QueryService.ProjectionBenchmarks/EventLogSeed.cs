using System.Text.Json;
using CqrsDapr.Contracts;
using CqrsDapr.Contracts.Products;
using Npgsql;
using NpgsqlTypes;

namespace CqrsDapr.QueryService.ProjectionBenchmarks;

/// <summary>
/// Fills the command service's outbox (its event log) with published rows by COPY: for each product ProductCreated (v1),
/// then ProductUpdated / ProductStockAdjusted (v2, v3, ...). Products are interleaved at random (fixed seed), as commands
/// on many products interleave in a real log, so a page touches nearly as many products as it has events; each
/// product's events keep increasing versions and sequences. Rows are what <c>OutboxMessage.For</c> writes: the event
/// serialized with <see cref="ContractsJson"/>, the type's event type, schema version and aggregate type.
/// </summary>
internal static class EventLogSeed
{
    private const string Copy = """
        COPY outbox (event_id, aggregate_type, aggregate_id, aggregate_version, event_type, schema_version, payload,
                     occurred_at, correlation_id, published_at, attempts)
        FROM STDIN (FORMAT BINARY)
        """;

    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Seeds <paramref name="products"/> × <paramref name="perProduct"/> rows; returns each product's id.</summary>
    public static async Task<Guid[]> SeedAsync(string writeDb, int products, int perProduct)
    {
        var random = new Random(42);
        var ids = Enumerable.Range(0, products).Select(i => Guid.CreateVersion7(Start.AddSeconds(i))).ToArray();
        var order = Enumerable.Range(0, products).SelectMany(p => Enumerable.Repeat(p, perProduct)).ToArray();
        random.Shuffle(order);
        var versions = new int[products];
        var createdAt = new DateTimeOffset[products];
        var stock = new int[products];

        await using var connection = new NpgsqlConnection(writeDb);
        await connection.OpenAsync();
        await using (var writer = await connection.BeginBinaryImportAsync(Copy))
        {
            for (var k = 0; k < order.Length; k++)
            {
                var p = order[k];
                var version = ++versions[p];
                var at = Start.AddDays(1).AddMilliseconds(k * 10L);
                if (version == 1)
                {
                    createdAt[p] = at;
                    stock[p] = random.Next(0, 100);
                }

                var id = ids[p];
                var snapshot = new ProductSnapshot(
                    id,
                    $"SKU-{p:D6}",
                    $"Product {p} rev {version}",
                    version % 3 == 0 ? null : $"A fine product number {p}, described at revision {version}.",
                    $"category-{p % 20:D2}",
                    new Money(10m + (p % 500) + (version / 100m), "EUR"),
                    stock[p],
                    version,
                    createdAt[p]);
                var row = version switch
                {
                    1 => Row(new ProductCreated(snapshot)),
                    _ when version % 2 == 0 => Row(new ProductUpdated(snapshot, ["name", "price"])),
                    _ => Row(new ProductStockAdjusted(snapshot with { Stock = stock[p] += 3 }, 3, "restock")),
                };

                await writer.StartRowAsync();
                await writer.WriteAsync(Guid.CreateVersion7(at), NpgsqlDbType.Uuid);
                await writer.WriteAsync(row.AggregateType, NpgsqlDbType.Varchar);
                await writer.WriteAsync(id.ToString(), NpgsqlDbType.Varchar);
                await writer.WriteAsync((long)version, NpgsqlDbType.Bigint);
                await writer.WriteAsync(row.EventType, NpgsqlDbType.Varchar);
                await writer.WriteAsync(row.SchemaVersion, NpgsqlDbType.Integer);
                await writer.WriteAsync(row.Payload, NpgsqlDbType.Jsonb);
                await writer.WriteAsync(at, NpgsqlDbType.TimestampTz);
                await writer.WriteAsync($"bench-{k}", NpgsqlDbType.Text);
                await writer.WriteAsync(at.AddMilliseconds(5), NpgsqlDbType.TimestampTz);
                await writer.WriteAsync(1, NpgsqlDbType.Integer);
            }

            await writer.CompleteAsync();
        }

        // A long-lived log has been vacuumed and analyzed: no first-read hint-bit writes in the measured walks.
        await using var vacuum = new NpgsqlCommand("VACUUM ANALYZE outbox", connection);
        await vacuum.ExecuteNonQueryAsync();
        return ids;
    }

    private static (string AggregateType, string EventType, int SchemaVersion, string Payload) Row<TEvent>(TEvent @event)
        where TEvent : IIntegrationEvent =>
        (TEvent.AggregateType, TEvent.EventType, TEvent.SchemaVersion, JsonSerializer.Serialize(@event, ContractsJson.Default.GetTypeInfo(typeof(TEvent))!));
}
