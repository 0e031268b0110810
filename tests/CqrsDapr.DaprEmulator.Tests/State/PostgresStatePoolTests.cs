using CqrsDapr.DaprEmulator.Tests.Infrastructure;
using Npgsql;

namespace CqrsDapr.DaprEmulator.Tests.State;

/// <summary>
/// <c>state.postgresql</c> v1 with every connection of its pool in use. daprd's pool (pgx's pgxpool) makes a call wait
/// for a free connection, first come first served, bounded only by the call's context: the caller's deadline or
/// cancellation, and v1's <c>timeout</c> where v1 adds it (get, bulk get, delete, a transaction's begin and commit).
/// It never fails because the pool is exhausted, however long the wait.
/// </summary>
/// <remarks>
/// The store has two connections (<c>pool_max_conns=2</c>; pgx cannot run v1's migrations on one), each opened within
/// a second (<c>connect_timeout=1</c>). An outside transaction locks two rows and a save to each waits on its lock,
/// holding both connections, for longer than that second: the wait Npgsql's own pool allows before it throws
/// "The connection pool has been exhausted".
/// </remarks>
public sealed class PostgresStatePoolTests(Backends backends)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_call_that_finds_every_connection_in_use_waits_for_one_and_succeeds()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = TwoConnectionStore(db);
        await using var host = await DaprTestHost.StartAsync("pool-wait", resources, withApp: false);
        await host.Client.SaveStateAsync("store", "c", "before", cancellationToken: Ct);
        await using var hog = await PoolHog.HoldBothConnectionsAsync(host, db, "pool-wait");

        var waiting = host.Client.GetStateAsync<string>("store", "c", cancellationToken: Ct);
        await Task.Delay(TimeSpan.FromSeconds(2.5), Ct); // more than the second Npgsql's pool waits by itself

        Assert.False(waiting.IsCompleted, $"the get finished while both connections were in use: {waiting.Status} {waiting.Exception?.InnerException?.Message}");
        await hog.ReleaseAsync();
        Assert.Equal("before", await waiting.WaitAsync(TimeSpan.FromSeconds(20), Ct));
        await hog.SavesAsync(); // the saves that held the connections completed too
        Assert.Equal("held", await host.Client.GetStateAsync<string>("store", "a", cancellationToken: Ct));
    }

    [Fact]
    public async Task A_get_that_waits_longer_than_the_stores_timeout_fails_with_the_context_deadline()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = TwoConnectionStore(db, timeout: "2s");
        await using var host = await DaprTestHost.StartAsync("pool-timeout", resources, withApp: false);
        await using var hog = await PoolHog.HoldBothConnectionsAsync(host, db, "pool-timeout");

        // A save has no timeout of its own in v1 (it waits as long as its caller does): the get's own 2 s end its wait.
        var failure = await PostgresTable.RpcFailureAsync(() => host.Client.GetStateAsync<string>("store", "c", cancellationToken: Ct).WaitAsync(TimeSpan.FromSeconds(20), Ct));

        Assert.Equal(Grpc.Core.StatusCode.Internal, failure.StatusCode);
        Assert.Equal("fail to get c from state store store: context deadline exceeded", failure.Status.Detail);
        await hog.ReleaseAsync();
        await hog.SavesAsync();
        Assert.Null(await host.Client.GetStateAsync<string>("store", "c", cancellationToken: Ct));
    }

    [Fact]
    public async Task Callers_that_give_up_waiting_leave_the_queue_and_the_pool_keeps_both_connections()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = TwoConnectionStore(db);
        await using var host = await DaprTestHost.StartAsync("pool-cancel", resources, withApp: false);
        await using var hog = await PoolHog.HoldBothConnectionsAsync(host, db, "pool-cancel");

        using var giveUp = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var first = host.Client.GetStateAsync<string>("store", "x", cancellationToken: giveUp.Token);
        var second = host.Client.GetStateAsync<string>("store", "y", cancellationToken: giveUp.Token);
        await Task.Delay(500, Ct);
        await giveUp.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second);
        await hog.ReleaseAsync();
        await hog.SavesAsync();
        // Had the two abandoned waits kept a connection each, nothing would be left for these.
        var after = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => host.Client.GetStateAsync<string>("store", "a", cancellationToken: Ct)))
            .WaitAsync(TimeSpan.FromSeconds(20), Ct);
        Assert.All(after, value => Assert.Equal("held", value));
    }

    private static Resources TwoConnectionStore(string db, string? timeout = null)
    {
        var metadata = new Dictionary<string, string>
        {
            ["connectionString"] = PostgresConnectionStrings.ToLibpq(db) + " pool_max_conns=2 connect_timeout=1",
        };
        if (timeout is not null)
        {
            metadata["timeout"] = timeout;
        }

        return new Resources().PostgresState("store", db, extra: metadata);
    }

    /// <summary>Both connections of the store's pool, busy with a save each that waits on a row lock held outside.</summary>
    private sealed class PoolHog : IAsyncDisposable
    {
        private readonly NpgsqlConnection connection;
        private readonly NpgsqlTransaction transaction;
        private readonly Task[] saves;

        private PoolHog(NpgsqlConnection connection, NpgsqlTransaction transaction, Task[] saves)
        {
            this.connection = connection;
            this.transaction = transaction;
            this.saves = saves;
        }

        public static async Task<PoolHog> HoldBothConnectionsAsync(DaprTestHost host, string db, string appId)
        {
            await host.Client.SaveStateAsync("store", "a", "free", cancellationToken: Ct);
            await host.Client.SaveStateAsync("store", "b", "free", cancellationToken: Ct);
            var connection = new NpgsqlConnection(db);
            await connection.OpenAsync(Ct);
            var transaction = await connection.BeginTransactionAsync(Ct);
            await using (var lockRows = new NpgsqlCommand("SELECT key FROM state WHERE key = ANY($1) FOR UPDATE", connection, transaction))
            {
                lockRows.Parameters.Add(new NpgsqlParameter { Value = new[] { $"{appId}||a", $"{appId}||b" } });
                await lockRows.ExecuteNonQueryAsync(Ct);
            }

            Task[] saves =
            [
                host.Client.SaveStateAsync("store", "a", "held", cancellationToken: Ct),
                host.Client.SaveStateAsync("store", "b", "held", cancellationToken: Ct),
            ];
            await Eventually.Until(
                async () => (long)(await PostgresTable.ScalarAsync(db, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"))!,
                waiting => waiting == 2,
                TimeSpan.FromSeconds(20),
                "both saves to wait on their row lock");
            return new PoolHog(connection, transaction, saves);
        }

        public Task ReleaseAsync() => transaction.CommitAsync(Ct);

        public Task SavesAsync() => Task.WhenAll(saves).WaitAsync(TimeSpan.FromSeconds(20), Ct);

        public async ValueTask DisposeAsync()
        {
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }
}
