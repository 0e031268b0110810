using System.Globalization;
using CqrsDapr.DaprEmulator.Tests.Infrastructure;
using Dapr.Client;
using Grpc.Core;

namespace CqrsDapr.DaprEmulator.Tests.State;

/// <summary>
/// ETags and concurrency of <c>state.postgresql</c> v1 (components-contrib v1.16): the ETag is the row's <c>xmin</c>,
/// writes with an ETag are conditional updates, first-write without an ETag is insert-only.
/// </summary>
public sealed class PostgresStateConcurrencyTests(Backends backends)
{
    private static readonly StateOptions FirstWrite = new() { Concurrency = ConcurrencyMode.FirstWrite };
    private static readonly StateOptions LastWrite = new() { Concurrency = ConcurrencyMode.LastWrite };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_etag_is_the_rows_xmin_and_only_the_current_one_wins()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("store", db);
        await using var host = await DaprTestHost.StartAsync("etag-basic", resources, withApp: false);

        await host.Client.SaveStateAsync("store", "k", "v1", cancellationToken: Ct);
        var (_, first) = await host.Client.GetStateAndETagAsync<string>("store", "k", cancellationToken: Ct);
        Assert.Equal((await PostgresTable.RowAsync(db, "etag-basic||k"))!.Xmin, first);

        Assert.True(await host.Client.TrySaveStateAsync("store", "k", "v2", first, cancellationToken: Ct));
        Assert.False(await host.Client.TrySaveStateAsync("store", "k", "v3", first, cancellationToken: Ct));

        var (value, second) = await host.Client.GetStateAndETagAsync<string>("store", "k", cancellationToken: Ct);
        Assert.Equal("v2", value);
        Assert.NotEqual(first, second);
        Assert.Equal((await PostgresTable.RowAsync(db, "etag-basic||k"))!.Xmin, second);

        Assert.False(await host.Client.TryDeleteStateAsync("store", "k", first, cancellationToken: Ct));
        Assert.Equal("v2", await host.Client.GetStateAsync<string>("store", "k", cancellationToken: Ct));
        Assert.True(await host.Client.TryDeleteStateAsync("store", "k", second, cancellationToken: Ct));
        Assert.Null(await PostgresTable.RowAsync(db, "etag-basic||k"));
    }

    [Fact]
    public async Task An_etag_on_a_missing_key_is_a_mismatch_and_writes_nothing()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("store", db);
        await using var host = await DaprTestHost.StartAsync("etag-missing", resources, withApp: false);

        Assert.False(await host.Client.TrySaveStateAsync("store", "nobody", "v", "12345", cancellationToken: Ct));
        Assert.False(await host.Client.TryDeleteStateAsync("store", "nobody", "12345", cancellationToken: Ct));

        Assert.Empty(await PostgresTable.RowsAsync(db));
    }

    [Fact]
    public async Task Last_write_does_not_switch_the_etag_check_off()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("store", db);
        await using var host = await DaprTestHost.StartAsync("etag-lastwrite", resources, withApp: false);
        await host.Client.SaveStateAsync("store", "k", "v1", cancellationToken: Ct);
        var (_, etag) = await host.Client.GetStateAndETagAsync<string>("store", "k", cancellationToken: Ct);
        await host.Client.SaveStateAsync("store", "k", "v2", cancellationToken: Ct);

        Assert.False(await host.Client.TrySaveStateAsync("store", "k", "v3", etag, LastWrite, cancellationToken: Ct));

        Assert.Equal("v2", await host.Client.GetStateAsync<string>("store", "k", cancellationToken: Ct));
    }

    [Theory]
    [InlineData("not-a-number")]
    [InlineData("-1")]
    [InlineData("4294967296")]
    public async Task An_etag_that_is_not_an_xmin_is_an_invalid_argument(string etag)
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("store", db);
        await using var host = await DaprTestHost.StartAsync("etag-invalid", resources, withApp: false);
        await host.Client.SaveStateAsync("store", "k", "v1", cancellationToken: Ct);

        var save = await PostgresTable.RpcFailureAsync(() => host.Client.TrySaveStateAsync("store", "k", "v2", etag, cancellationToken: Ct));
        var delete = await PostgresTable.RpcFailureAsync(() => host.Client.TryDeleteStateAsync("store", "k", etag, cancellationToken: Ct));

        Assert.Equal(StatusCode.InvalidArgument, save.StatusCode);
        Assert.Contains("invalid etag value", save.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.InvalidArgument, delete.StatusCode);
        Assert.Equal("v1", await host.Client.GetStateAsync<string>("store", "k", cancellationToken: Ct));
    }

    [Fact]
    public async Task First_write_without_an_etag_inserts_once_and_then_fails_with_a_generic_error_not_a_mismatch()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("store", db);
        await using var host = await DaprTestHost.StartAsync("etag-firstwrite", resources, withApp: false);

        await host.Client.SaveStateAsync("store", "k", "first", FirstWrite, cancellationToken: Ct);
        var conflict = await PostgresTable.RpcFailureAsync(() => host.Client.SaveStateAsync("store", "k", "second", FirstWrite, cancellationToken: Ct));

        // Internal, so TrySave* would throw rather than return false; the message is the store's "no item was updated".
        Assert.Equal(StatusCode.Internal, conflict.StatusCode);
        Assert.Contains("no item was updated", conflict.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("first", await host.Client.GetStateAsync<string>("store", "k", cancellationToken: Ct));

        // With the current ETag, first-write is an ordinary conditional update.
        var (_, etag) = await host.Client.GetStateAndETagAsync<string>("store", "k", cancellationToken: Ct);
        Assert.True(await host.Client.TrySaveStateAsync("store", "k", "third", etag, FirstWrite, cancellationToken: Ct));
        Assert.Equal("third", await host.Client.GetStateAsync<string>("store", "k", cancellationToken: Ct));
    }

    [Fact]
    public async Task First_write_replaces_a_row_that_expired_but_was_not_swept_yet()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("store", db, extra: new Dictionary<string, string> { ["cleanupIntervalInSeconds"] = "0" });
        await using var host = await DaprTestHost.StartAsync("etag-firstwrite-ttl", resources, withApp: false);
        await host.Client.SaveStateAsync("store", "k", "short-lived", metadata: new Dictionary<string, string> { ["ttlInSeconds"] = "1" }, cancellationToken: Ct);
        await Eventually.Until(
            () => host.Client.GetStateAsync<string>("store", "k", cancellationToken: Ct),
            v => v is null,
            TimeSpan.FromSeconds(10),
            "the 1 s TTL to expire");
        Assert.NotNull(await PostgresTable.RowAsync(db, "etag-firstwrite-ttl||k"));

        await host.Client.SaveStateAsync("store", "k", "fresh", FirstWrite, cancellationToken: Ct);

        Assert.Equal("fresh", await host.Client.GetStateAsync<string>("store", "k", cancellationToken: Ct));
        var row = await PostgresTable.RowAsync(db, "etag-firstwrite-ttl||k");
        Assert.Null(row!.ExpireDate);
    }

    [Fact]
    public async Task An_etag_read_before_an_update_by_another_sidecar_is_stale_for_both()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("store", db, keyPrefix: "none");
        await using var a = await DaprTestHost.StartAsync("etag-two-a", resources, withApp: false);
        await using var b = await DaprTestHost.StartAsync("etag-two-b", resources, withApp: false);
        await a.Client.SaveStateAsync("store", "counter", 1, cancellationToken: Ct);
        var (_, seenByA) = await a.Client.GetStateAndETagAsync<int>("store", "counter", cancellationToken: Ct);
        var (_, seenByB) = await b.Client.GetStateAndETagAsync<int>("store", "counter", cancellationToken: Ct);
        Assert.Equal(seenByA, seenByB);

        Assert.True(await b.Client.TrySaveStateAsync("store", "counter", 2, seenByB, cancellationToken: Ct));
        Assert.False(await a.Client.TrySaveStateAsync("store", "counter", 3, seenByA, cancellationToken: Ct));

        Assert.Equal(2, await a.Client.GetStateAsync<int>("store", "counter", cancellationToken: Ct));
        Assert.True(uint.Parse((await PostgresTable.RowAsync(db, "counter"))!.Xmin, CultureInfo.InvariantCulture) > uint.Parse(seenByA, CultureInfo.InvariantCulture));
    }
}
