using CqrsDapr.QueryService.Tests.Infrastructure;
using CqrsDapr.TestSupport;

[assembly: AssemblyFixture(typeof(ReadDatabaseServer))]

namespace CqrsDapr.QueryService.Tests.Infrastructure;

/// <summary>One throwaway PostgreSQL server for the test assembly; each host or sidecar takes its own read database.</summary>
public sealed class ReadDatabaseServer : IAsyncLifetime
{
    private PostgresServer? postgres;
    private int counter;

    public PostgresServer Postgres => postgres ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync() => postgres = await PostgresServer.StartAsync();

    /// <summary>A fresh, empty database: its Npgsql connection string (the state store creates its own table).</summary>
    public Task<string> NewDatabaseAsync() =>
        Postgres.CreateDatabaseAsync($"r{Interlocked.Increment(ref counter)}_{Guid.NewGuid():N}"[..30]);

    public async ValueTask DisposeAsync()
    {
        if (postgres is not null)
        {
            await postgres.DisposeAsync();
        }
    }
}
