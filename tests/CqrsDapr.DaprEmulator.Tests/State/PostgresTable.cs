using Dapr;
using Grpc.Core;
using Npgsql;

namespace CqrsDapr.DaprEmulator.Tests.State;

/// <summary>A state row as it is in PostgreSQL (read behind the sidecar's back).</summary>
internal sealed record StateRow(string Key, string Value, bool IsBinary, string Xmin, DateTime? ExpireDate);

/// <summary>Direct access to the database a <c>state.postgresql</c> v1 component writes to.</summary>
internal static class PostgresTable
{
    public static readonly IReadOnlyDictionary<string, string> Json = new Dictionary<string, string> { ["contentType"] = "application/json" };

    public static async Task<StateRow?> RowAsync(string connectionString, string key, string table = "state")
    {
        var rows = await RowsAsync(connectionString, table, "WHERE key = $1", key);
        return rows.SingleOrDefault();
    }

    /// <summary>Rows ordered by key; <paramref name="where"/> may use $1.. with <paramref name="arguments"/>.</summary>
    public static async Task<IReadOnlyList<StateRow>> RowsAsync(string connectionString, string table = "state", string where = "", params object[] arguments)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new NpgsqlCommand($"SELECT key, value::text, isbinary, xmin::text, expiredate FROM {table} {where} ORDER BY key", connection);
        foreach (var argument in arguments)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = argument });
        }

        var rows = new List<StateRow>();
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        while (await reader.ReadAsync(TestContext.Current.CancellationToken))
        {
            rows.Add(new StateRow(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetBoolean(2),
                reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTime>(4)));
        }

        return rows;
    }

    public static async Task<object?> ScalarAsync(string connectionString, string sql, params object[] arguments)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var argument in arguments)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = argument });
        }

        var result = await command.ExecuteScalarAsync(TestContext.Current.CancellationToken);
        return result is DBNull ? null : result;
    }

    public static async Task ExecuteAsync(string connectionString, string sql, params object[] arguments)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var argument in arguments)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = argument });
        }

        await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>The gRPC status behind an SDK exception.</summary>
    public static async Task<RpcException> RpcFailureAsync(Func<Task> call)
    {
        var ex = await Assert.ThrowsAsync<DaprException>(call);
        return Assert.IsType<RpcException>(ex.InnerException);
    }
}
