using Npgsql;

namespace CqrsDapr.TestSupport.Tests;

public sealed class PostgresServerTests
{
    [Fact]
    public async Task Created_database_survives_a_crash_and_restart()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await PostgresServer.StartAsync(ct);
        var connectionString = await server.CreateDatabaseAsync("orders", ct);

        Assert.Equal(1, await SelectOneAsync(connectionString, ct));

        await server.StopAsync();
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => SelectOneAsync(connectionString, ct));

        await server.RestartAsync(ct);
        NpgsqlConnection.ClearAllPools(); // Idle pooled connections died with the old server process.
        Assert.Equal(1, await SelectOneAsync(connectionString, ct));
    }

    private static async Task<int> SelectOneAsync(string connectionString, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand("select 1", connection);
        return (int)(await command.ExecuteScalarAsync(ct))!;
    }
}
