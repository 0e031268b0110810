using CqrsDapr.DaprEmulator.Tests.Infrastructure;
using CqrsDapr.TestSupport;

[assembly: AssemblyFixture(typeof(Backends))]

namespace CqrsDapr.DaprEmulator.Tests.Infrastructure;

/// <summary>
/// One throwaway PostgreSQL and one Redis server for the whole test assembly; tests isolate themselves with their
/// own database, table names, topics and app-ids.
/// </summary>
public sealed class Backends : IAsyncLifetime
{
    private PostgresServer? postgres;
    private RedisServer? redis;
    private int databaseCounter;

    public PostgresServer Postgres => postgres ?? throw new InvalidOperationException("not started");

    public RedisServer Redis => redis ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync()
    {
        var pg = PostgresServer.StartAsync();
        var rd = RedisServer.StartAsync();
        postgres = await pg;
        redis = await rd;
    }

    /// <summary>A fresh, empty database: a connection string to it.</summary>
    public Task<string> NewDatabaseAsync() =>
        Postgres.CreateDatabaseAsync($"t{Interlocked.Increment(ref databaseCounter)}_{Guid.NewGuid():N}"[..30]);

    public async ValueTask DisposeAsync()
    {
        if (postgres is not null)
        {
            await postgres.DisposeAsync();
        }

        if (redis is not null)
        {
            await redis.DisposeAsync();
        }
    }
}
