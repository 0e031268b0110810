using CqrsDapr.CommandService.Persistence;
using CqrsDapr.CommandService.Tests.Infrastructure;
using CqrsDapr.TestSupport;
using Microsoft.EntityFrameworkCore;

[assembly: AssemblyFixture(typeof(WriteDatabaseServer))]

namespace CqrsDapr.CommandService.Tests.Infrastructure;

/// <summary>
/// One throwaway PostgreSQL server for the test assembly; each test takes its own database, migrated with the
/// checked-in migrations (never <c>EnsureCreated</c>).
/// </summary>
public sealed class WriteDatabaseServer : IAsyncLifetime
{
    private PostgresServer? postgres;
    private int counter;

    public PostgresServer Postgres => postgres ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync() => postgres = await PostgresServer.StartAsync();

    /// <summary>A fresh, empty database (no schema): its Npgsql connection string.</summary>
    public Task<string> NewEmptyDatabaseAsync() =>
        Postgres.CreateDatabaseAsync($"w{Interlocked.Increment(ref counter)}_{Guid.NewGuid():N}"[..30]);

    /// <summary>A fresh database with every migration applied: its Npgsql connection string.</summary>
    public async Task<string> NewMigratedDatabaseAsync()
    {
        var connectionString = await NewEmptyDatabaseAsync();
        await using var db = CreateContext(connectionString);
        await db.Database.MigrateAsync(TestContext.Current.CancellationToken);
        return connectionString;
    }

    internal static WriteDbContext CreateContext(string connectionString)
    {
        var options = new DbContextOptionsBuilder<WriteDbContext>();
        PersistenceModule.Configure(options, connectionString);
        return new WriteDbContext(options.Options);
    }

    public async ValueTask DisposeAsync()
    {
        if (postgres is not null)
        {
            await postgres.DisposeAsync();
        }
    }
}
