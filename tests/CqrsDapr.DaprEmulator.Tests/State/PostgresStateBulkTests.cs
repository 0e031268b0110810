using System.Text;
using CqrsDapr.DaprEmulator.Tests.Infrastructure;
using Dapr.Client;
using Grpc.Core;

namespace CqrsDapr.DaprEmulator.Tests.State;

/// <summary>
/// Bulk operations and transactions against <c>state.postgresql</c> v1 through daprd 1.16's API: bulk get is the
/// store's own query with per-item results, bulk save/delete are independent writes, transactions are all-or-nothing.
/// </summary>
public sealed class PostgresStateBulkTests(Backends backends)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Bulk_get_returns_one_item_per_key_with_values_and_etags_and_the_missing_keys_last()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("store", db);
        await using var host = await DaprTestHost.StartAsync("bulk-get", resources, withApp: false);
        await host.Client.SaveStateAsync("store", "a", "alpha", cancellationToken: Ct);
        await host.Client.SaveStateAsync("store", "b", new { Name = "beta" }, metadata: PostgresTable.Json, cancellationToken: Ct);

        var items = await host.Client.GetBulkStateAsync("store", ["missing", "b", "a"], parallelism: 2, cancellationToken: Ct);

        Assert.Equal(3, items.Count);
        Assert.Equal(["a", "b", "missing"], items.Select(i => i.Key).Order(StringComparer.Ordinal));
        var a = items.Single(i => i.Key == "a");
        Assert.Equal("\"alpha\"", a.Value);
        Assert.Equal((await PostgresTable.RowAsync(db, "bulk-get||a"))!.Xmin, a.ETag);
        var b = items.Single(i => i.Key == "b");
        Assert.Equal("{\"name\": \"beta\"}", b.Value);
        Assert.Equal((await PostgresTable.RowAsync(db, "bulk-get||b"))!.Xmin, b.ETag);

        // v1 lists the rows the database found, then the keys it did not find.
        var missing = items[^1];
        Assert.Equal("missing", missing.Key);
        Assert.Equal("", missing.Value);
        Assert.Equal("", missing.ETag);
    }

    [Fact]
    public async Task Bulk_delete_removes_every_listed_key_and_nothing_else()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("store", db);
        await using var host = await DaprTestHost.StartAsync("bulk-delete", resources, withApp: false);
        foreach (var key in new[] { "a", "b", "c" })
        {
            await host.Client.SaveStateAsync("store", key, key, cancellationToken: Ct);
        }

        var (_, etagB) = await host.Client.GetStateAndETagAsync<string>("store", "b", cancellationToken: Ct);
        await host.Client.DeleteBulkStateAsync("store", [new BulkDeleteStateItem("a", ""), new BulkDeleteStateItem("b", etagB)], Ct);

        Assert.Equal(["bulk-delete||c"], (await PostgresTable.RowsAsync(db)).Select(r => r.Key));
    }

    [Fact]
    public async Task Bulk_save_and_bulk_delete_are_not_transactions_the_good_items_are_applied()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("store", db);
        await using var host = await DaprTestHost.StartAsync("bulk-partial", resources, withApp: false);
        await host.Client.SaveStateAsync("store", "guarded", "old", cancellationToken: Ct);

        var save = await PostgresTable.RpcFailureAsync(() => host.Client.SaveBulkStateAsync(
            "store",
            [new SaveStateItem<string>("free-1", "new", ""), new SaveStateItem<string>("guarded", "new", "1"), new SaveStateItem<string>("free-2", "new", "")],
            Ct));

        Assert.Equal(StatusCode.Aborted, save.StatusCode);
        Assert.Equal("new", await host.Client.GetStateAsync<string>("store", "free-1", cancellationToken: Ct));
        Assert.Equal("new", await host.Client.GetStateAsync<string>("store", "free-2", cancellationToken: Ct));
        Assert.Equal("old", await host.Client.GetStateAsync<string>("store", "guarded", cancellationToken: Ct));

        var delete = await PostgresTable.RpcFailureAsync(() => host.Client.DeleteBulkStateAsync(
            "store",
            [new BulkDeleteStateItem("free-1", ""), new BulkDeleteStateItem("guarded", "1")],
            Ct));
        Assert.Equal(StatusCode.Aborted, delete.StatusCode);
        Assert.Equal(["bulk-partial||free-2", "bulk-partial||guarded"], (await PostgresTable.RowsAsync(db)).Select(r => r.Key));
    }

    [Fact]
    public async Task A_transaction_with_a_stale_etag_fails_as_internal_and_writes_nothing()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("store", db);
        await using var host = await DaprTestHost.StartAsync("tx-rollback", resources, withApp: false);
        await host.Client.SaveStateAsync("store", "existing", "old", cancellationToken: Ct);
        await host.Client.SaveStateAsync("store", "doomed", "kept", cancellationToken: Ct);
        var before = await PostgresTable.RowsAsync(db);

        var failure = await PostgresTable.RpcFailureAsync(() => host.Client.ExecuteStateTransactionAsync(
            "store",
            [
                new StateTransactionRequest("created", Encoding.UTF8.GetBytes("\"new\""), StateOperationType.Upsert),
                new StateTransactionRequest("doomed", [], StateOperationType.Delete),
                new StateTransactionRequest("existing", Encoding.UTF8.GetBytes("\"changed\""), StateOperationType.Upsert, etag: "1"),
            ],
            cancellationToken: Ct));

        // Inside a transaction an ETag mismatch is ERR_STATE_TRANSACTION (Internal), not Aborted.
        Assert.Equal(StatusCode.Internal, failure.StatusCode);
        Assert.Contains("etag mismatch", failure.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(before, await PostgresTable.RowsAsync(db));
    }

    [Fact]
    public async Task A_transaction_with_current_etags_applies_every_operation()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("store", db);
        await using var host = await DaprTestHost.StartAsync("tx-commit", resources, withApp: false);
        await host.Client.SaveStateAsync("store", "existing", "old", cancellationToken: Ct);
        await host.Client.SaveStateAsync("store", "doomed", "gone soon", cancellationToken: Ct);
        var (_, etag) = await host.Client.GetStateAndETagAsync<string>("store", "existing", cancellationToken: Ct);
        var (_, doomedEtag) = await host.Client.GetStateAndETagAsync<string>("store", "doomed", cancellationToken: Ct);

        await host.Client.ExecuteStateTransactionAsync(
            "store",
            [
                new StateTransactionRequest("created", Encoding.UTF8.GetBytes("\"new\""), StateOperationType.Upsert),
                new StateTransactionRequest("doomed", [], StateOperationType.Delete, etag: doomedEtag),
                new StateTransactionRequest("existing", Encoding.UTF8.GetBytes("\"changed\""), StateOperationType.Upsert, etag: etag),
            ],
            cancellationToken: Ct);

        Assert.Equal("new", await host.Client.GetStateAsync<string>("store", "created", cancellationToken: Ct));
        Assert.Equal("changed", await host.Client.GetStateAsync<string>("store", "existing", cancellationToken: Ct));
        var rows = await PostgresTable.RowsAsync(db);
        Assert.Equal(["tx-commit||created", "tx-commit||existing"], rows.Select(r => r.Key));

        // One database transaction: every row written by it carries the same xmin.
        Assert.Single(rows.Select(r => r.Xmin).Distinct());
    }

    [Fact]
    public async Task Save_state_with_a_ttl_hides_the_key_once_expired_and_the_sweep_deletes_the_row()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("store", db, extra: new Dictionary<string, string> { ["cleanupIntervalInSeconds"] = "1" });
        await using var host = await DaprTestHost.StartAsync("ttl-sweep", resources, withApp: false);
        var ttl = new Dictionary<string, string> { ["ttlInSeconds"] = "1" };

        await host.Client.SaveStateAsync("store", "short", "soon gone", metadata: ttl, cancellationToken: Ct);
        await host.Client.SaveStateAsync("store", "long", "stays", cancellationToken: Ct);

        Assert.Equal("soon gone", await host.Client.GetStateAsync<string>("store", "short", cancellationToken: Ct));
        var row = await PostgresTable.RowAsync(db, "ttl-sweep||short");
        Assert.NotNull(row?.ExpireDate);
        await Eventually.Until(
            () => host.Client.GetStateAsync<string>("store", "short", cancellationToken: Ct),
            v => v is null,
            TimeSpan.FromSeconds(10),
            "the key to expire");
        await Eventually.Until(
            () => PostgresTable.RowsAsync(db),
            rows => rows.Count == 1,
            TimeSpan.FromSeconds(15),
            "the cleanup to delete the expired row");

        Assert.Equal("stays", await host.Client.GetStateAsync<string>("store", "long", cancellationToken: Ct));
        Assert.NotNull(await PostgresTable.ScalarAsync(db, "SELECT value FROM dapr_metadata WHERE key = 'last-cleanup'"));
    }

    [Fact]
    public async Task An_expired_row_is_invisible_to_reads_but_stays_in_the_table_and_in_query_results_when_the_sweep_is_off()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("store", db, extra: new Dictionary<string, string> { ["cleanupIntervalInSeconds"] = "0" });
        await using var host = await DaprTestHost.StartAsync("ttl-nosweep", resources, withApp: false);

        await host.Client.SaveStateAsync("store", "short", new { Kind = "temp" }, metadata: new Dictionary<string, string> { ["ttlInSeconds"] = "1", ["contentType"] = "application/json" }, cancellationToken: Ct);
        await Eventually.Until(
            () => host.Client.GetStateAsync<object>("store", "short", cancellationToken: Ct),
            v => v is null,
            TimeSpan.FromSeconds(10),
            "the key to expire");
        var bulk = await host.Client.GetBulkStateAsync("store", ["short"], parallelism: null, cancellationToken: Ct);
        var query = await host.Client.QueryStateAsync<Dictionary<string, string>>("store", "{\"filter\":{\"EQ\":{\"kind\":\"temp\"}}}", cancellationToken: Ct);

        Assert.Equal("", Assert.Single(bulk).Value);
        Assert.NotNull(await PostgresTable.RowAsync(db, "ttl-nosweep||short"));
        Assert.Equal("short", Assert.Single(query.Results).Key);
        Assert.Null(await PostgresTable.ScalarAsync(db, "SELECT value FROM dapr_metadata WHERE key = 'last-cleanup'"));
    }

    [Fact]
    public async Task A_ttl_that_is_not_a_whole_number_fails_the_save()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("store", db);
        await using var host = await DaprTestHost.StartAsync("ttl-invalid", resources, withApp: false);

        var failure = await PostgresTable.RpcFailureAsync(() => host.Client.SaveStateAsync("store", "k", "v", metadata: new Dictionary<string, string> { ["ttlInSeconds"] = "soon" }, cancellationToken: Ct));

        Assert.Equal(StatusCode.Internal, failure.StatusCode);
        Assert.Contains("ttlInSeconds", failure.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(await PostgresTable.RowsAsync(db));
    }
}
