using CqrsDapr.CommandService.Outbox;
using CqrsDapr.CommandService.Persistence;
using CqrsDapr.CommandService.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CqrsDapr.CommandService.Tests.Persistence;

public sealed class MigrationTests(WriteDatabaseServer server)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_checked_in_migrations_create_the_schema_and_match_the_model()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        await using var db = WriteDatabaseServer.CreateContext(connectionString);

        Assert.Empty(await db.Database.GetPendingMigrationsAsync(Ct));
        Assert.False(db.Database.HasPendingModelChanges(), "the model has changes no migration captures: run dotnet ef migrations add");
        var tables = await db.Database.SqlQueryRaw<string>(
            "SELECT table_name AS \"Value\" FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1").ToListAsync(Ct);
        Assert.Equal(["__ef_migrations_history", "idempotency_records", "outbox", "products"], tables);
    }

    [Fact]
    public async Task The_migrate_command_on_an_empty_database_applies_every_migration_without_logging_an_error()
    {
        var connectionString = await server.NewEmptyDatabaseAsync();
        var logs = new CollectedLogs();
        await using var services = new ServiceCollection()
            .AddLogging(logging => logging.AddProvider(logs))
            .AddDbContextFactory<WriteDbContext>(options => PersistenceModule.Configure(options, connectionString))
            .BuildServiceProvider();

        await WriteDatabaseMigrations.ApplyAsync(services, Ct);

        var errors = logs.Lines.Where(line => line.StartsWith("Error", StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 0, string.Join(Environment.NewLine, errors)); // a first deployment is not an incident
        await using var db = WriteDatabaseServer.CreateContext(connectionString);
        Assert.Empty(await db.Database.GetPendingMigrationsAsync(Ct));
    }

    [Fact]
    public async Task A_committed_outbox_insert_notifies_the_relay_channel_and_a_rolled_back_one_does_not()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        await using var listener = new NpgsqlConnection(connectionString);
        await listener.OpenAsync(Ct);
        var notified = new List<string>();
        listener.Notification += (_, e) => notified.Add(e.Channel);
        await using (var listen = new NpgsqlCommand($"LISTEN {OutboxChannel.Name}", listener))
        {
            await listen.ExecuteNonQueryAsync(Ct);
        }

        await InsertOutboxRowAsync(connectionString, commit: false);
        Assert.False(await listener.WaitAsync(TimeSpan.FromMilliseconds(300), Ct), "a rolled-back insert must not notify");

        await InsertOutboxRowAsync(connectionString, commit: true);
        Assert.True(await listener.WaitAsync(TimeSpan.FromSeconds(5), Ct), "no notification after commit");
        Assert.Equal([OutboxChannel.Name], notified);
    }

    private static async Task InsertOutboxRowAsync(string connectionString, bool commit)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var transaction = await connection.BeginTransactionAsync(Ct);
        await using var insert = new NpgsqlCommand(
            """
            INSERT INTO outbox (event_id, aggregate_type, aggregate_id, aggregate_version, event_type, schema_version, payload, occurred_at, attempts)
            VALUES (gen_random_uuid(), 'product', 'p-1', 1, 'ProductCreated', 1, '{}', now(), 0)
            """, connection, transaction);
        await insert.ExecuteNonQueryAsync(Ct);
        if (commit)
        {
            await transaction.CommitAsync(Ct);
        }
        else
        {
            await transaction.RollbackAsync(Ct);
        }
    }
}
