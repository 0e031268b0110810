using System.Text;
using System.Text.Json;
using CqrsDapr.DaprEmulator.Tests.Infrastructure;
using Dapr.Client;
using Grpc.Core;

namespace CqrsDapr.DaprEmulator.Tests.State;

/// <summary>
/// What <c>state.postgresql</c> v1 (components-contrib v1.16) puts in its table: value encoding, key layout, the
/// schema its migrations create, and how the component refuses bad configuration.
/// </summary>
public sealed class PostgresStateStorageTests(Backends backends)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Bytes_are_stored_as_a_json_string_of_base64_and_read_back_unchanged()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("store", db);
        await using var host = await DaprTestHost.StartAsync("layout-bytes", resources, withApp: false);
        byte[] bytes = [0, 1, 2, 0x7f, 0xfa, 0xff];

        await host.Client.SaveByteStateAsync("store", "blob", bytes, cancellationToken: Ct);
        await host.Client.SaveStateAsync("store", "typed", new { Name = "lamp" }, cancellationToken: Ct);

        Assert.Equal(bytes, (await host.Client.GetByteStateAsync("store", "blob", cancellationToken: Ct)).ToArray());
        var blob = await PostgresTable.RowAsync(db, "layout-bytes||blob");
        Assert.NotNull(blob);
        Assert.True(blob.IsBinary);
        Assert.Equal("\"" + Convert.ToBase64String(bytes) + "\"", blob.Value);

        // Without contentType metadata the SDK's JSON is just bytes to daprd: stored binary, invisible to queries.
        var typed = await PostgresTable.RowAsync(db, "layout-bytes||typed");
        Assert.NotNull(typed);
        Assert.True(typed.IsBinary);
        Assert.Equal("{\"name\":\"lamp\"}", Encoding.UTF8.GetString(Convert.FromBase64String(JsonSerializer.Deserialize<string>(typed.Value)!)));
        Assert.Equal("lamp", (await host.Client.GetStateAsync<JsonElement>("store", "typed", cancellationToken: Ct)).GetProperty("name").GetString());
    }

    [Fact]
    public async Task Json_with_the_content_type_metadata_is_stored_as_jsonb_and_read_back_as_postgres_renders_it()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("store", db);
        await using var host = await DaprTestHost.StartAsync("layout-json", resources, withApp: false);

        await host.Client.SaveStateAsync("store", "doc", new { Name = "lamp", Color = "red" }, metadata: PostgresTable.Json, cancellationToken: Ct);

        var row = await PostgresTable.RowAsync(db, "layout-json||doc");
        Assert.NotNull(row);
        Assert.False(row.IsBinary);
        Assert.Equal("{\"name\": \"lamp\", \"color\": \"red\"}", row.Value);

        // The bytes are jsonb's rendering (key order by length, spaces), not what the SDK sent.
        var back = await host.Client.GetByteStateAsync("store", "doc", cancellationToken: Ct);
        Assert.Equal("{\"name\": \"lamp\", \"color\": \"red\"}", Encoding.UTF8.GetString(back.Span));
    }

    [Fact]
    public async Task Numbers_in_structured_values_pass_through_float64_as_they_do_in_daprd()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("store", db);
        await using var host = await DaprTestHost.StartAsync("layout-float", resources, withApp: false);

        // daprd decodes the value into Go's interface{} (float64) and the store re-encodes it.
        var raw = Encoding.UTF8.GetBytes("{\"price\": 1.50, \"id\": 9007199254740993, \"tiny\": 0.0000001, \"n\": 7}");
        await host.Client.SaveByteStateAsync("store", "doc", raw, metadata: PostgresTable.Json, cancellationToken: Ct);

        var row = await PostgresTable.RowAsync(db, "layout-float||doc");
        Assert.NotNull(row);
        Assert.Equal("{\"n\": 7, \"id\": 9007199254740992, \"tiny\": 0.0000001, \"price\": 1.5}", row.Value);
    }

    [Fact]
    public async Task Http_saves_are_structured_json_and_grpc_transactions_are_bytes_whatever_the_content_type()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("store", db);
        await using var host = await DaprTestHost.StartAsync("layout-paths", resources, withApp: false);
        using var http = new HttpClient { BaseAddress = new Uri(host.Sidecar.HttpEndpoint) };

        using var body = new StringContent("[{\"key\":\"via-http\",\"value\":{\"name\":\"desk\"}}]", Encoding.UTF8, "application/json");
        (await http.PostAsync(new Uri("/v1.0/state/store", UriKind.Relative), body, Ct)).EnsureSuccessStatusCode();
        await host.Client.ExecuteStateTransactionAsync(
            "store",
            [new StateTransactionRequest("via-tx", Encoding.UTF8.GetBytes("{\"name\":\"chair\"}"), StateOperationType.Upsert, metadata: PostgresTable.Json)],
            cancellationToken: Ct);

        var viaHttp = await PostgresTable.RowAsync(db, "layout-paths||via-http");
        Assert.NotNull(viaHttp);
        Assert.False(viaHttp.IsBinary);
        Assert.Equal("{\"name\": \"desk\"}", viaHttp.Value);

        // daprd's ExecuteStateTransaction passes the raw bytes on; contentType only matters to SaveState.
        var viaTx = await PostgresTable.RowAsync(db, "layout-paths||via-tx");
        Assert.NotNull(viaTx);
        Assert.True(viaTx.IsBinary);
    }

    [Fact]
    public async Task Keys_are_prefixed_with_the_app_id_unless_key_prefix_says_otherwise()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources()
            .PostgresState("by-appid", db)
            .PostgresState("by-name", db, keyPrefix: "name")
            .PostgresState("by-none", db, keyPrefix: "none")
            .PostgresState("by-custom", db, keyPrefix: "Shared");
        await using var host = await DaprTestHost.StartAsync("layout-keys", resources, withApp: false);

        foreach (var store in new[] { "by-appid", "by-name", "by-none", "by-custom" })
        {
            await host.Client.SaveStateAsync(store, "k", store, cancellationToken: Ct);
        }

        var keys = (await PostgresTable.RowsAsync(db)).Select(r => r.Key).ToList();
        Assert.Equal(["by-name||k", "k", "layout-keys||k", "shared||k"], keys);
        foreach (var store in new[] { "by-appid", "by-name", "by-none", "by-custom" })
        {
            Assert.Equal(store, await host.Client.GetStateAsync<string>(store, "k", cancellationToken: Ct));
        }
    }

    [Fact]
    public async Task A_key_containing_the_separator_is_rejected_as_invalid_argument()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("store", db);
        await using var host = await DaprTestHost.StartAsync("layout-sep", resources, withApp: false);

        var save = await PostgresTable.RpcFailureAsync(() => host.Client.SaveStateAsync("store", "a||b", "v", cancellationToken: Ct));
        var get = await PostgresTable.RpcFailureAsync(() => host.Client.GetStateAsync<string>("store", "a||b", cancellationToken: Ct));

        Assert.Equal(StatusCode.InvalidArgument, save.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, get.StatusCode);
        Assert.Empty(await PostgresTable.RowsAsync(db));
    }

    [Fact]
    public async Task Migrations_create_the_v1_schema_and_record_level_two_in_the_metadata_table()
    {
        var db = await backends.NewDatabaseAsync();
        await PostgresTable.ExecuteAsync(db, "CREATE SCHEMA app");
        using var resources = new Resources().PostgresState("store", db, tableName: "app.orders", extra: new Dictionary<string, string> { ["metadataTableName"] = "app.dapr_meta" });
        await using var host = await DaprTestHost.StartAsync("layout-schema", resources, withApp: false);

        var columns = await PostgresTable.ScalarAsync(
            db,
            "SELECT string_agg(column_name || ':' || data_type || ':' || is_nullable, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = 'app' AND table_name = 'orders'");
        Assert.Equal(
            "key:text:NO,value:jsonb:NO,isbinary:boolean:NO,insertdate:timestamp with time zone:NO,updatedate:timestamp with time zone:YES,expiredate:timestamp with time zone:YES",
            columns);
        Assert.Equal("key", await PostgresTable.ScalarAsync(db, "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'app.orders'::regclass AND i.indisprimary"));
        Assert.Equal("2", await PostgresTable.ScalarAsync(db, "SELECT value FROM app.dapr_meta WHERE key = 'migrations'"));
        Assert.Equal("lock", await PostgresTable.ScalarAsync(db, "SELECT value FROM app.dapr_meta WHERE key = 'lock'"));

        await host.Client.SaveStateAsync("store", "o1", "order", cancellationToken: Ct);
        Assert.NotNull(await PostgresTable.RowAsync(db, "layout-schema||o1", "app.orders"));
    }

    [Fact]
    public async Task Two_sidecars_starting_together_on_an_empty_database_both_come_up_and_share_one_table()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("store", db);

        var startingA = DaprTestHost.StartAsync("race-a", resources, withApp: false);
        var startingB = DaprTestHost.StartAsync("race-b", resources, withApp: false);
        await using var a = await startingA;
        await using var b = await startingB;

        await a.Client.SaveStateAsync("store", "k", "from a", cancellationToken: Ct);
        await b.Client.SaveStateAsync("store", "k", "from b", cancellationToken: Ct);
        Assert.Equal(["race-a||k", "race-b||k"], (await PostgresTable.RowsAsync(db)).Select(r => r.Key));
        Assert.Equal("2", await PostgresTable.ScalarAsync(db, "SELECT value FROM dapr_metadata WHERE key = 'migrations'"));
    }

    [Fact]
    public async Task The_migration_level_belongs_to_the_metadata_table_so_a_second_state_table_in_it_is_never_created()
    {
        // v1 keys the level as "migrations" in the metadata table, whatever the state table: a second component with
        // another tableName but the default metadataTableName finds level 2 and creates nothing.
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("first", db).PostgresState("second", db, tableName: "other_state");
        await using var host = await DaprTestHost.StartAsync("layout-shared-meta", resources, withApp: false);

        await host.Client.SaveStateAsync("first", "k", "v", cancellationToken: Ct);
        var failure = await PostgresTable.RpcFailureAsync(() => host.Client.SaveStateAsync("second", "k", "v", cancellationToken: Ct));

        Assert.Equal(StatusCode.Internal, failure.StatusCode);
        Assert.Contains("other_state", failure.Status.Detail, StringComparison.Ordinal);
        Assert.Null(await PostgresTable.ScalarAsync(db, "SELECT to_regclass('other_state')::text"));
    }

    [Fact]
    public async Task A_url_connection_string_is_accepted()
    {
        var db = await backends.NewDatabaseAsync();
        var npgsql = new Npgsql.NpgsqlConnectionStringBuilder(db);
        var url = $"postgres://{npgsql.Username}@{npgsql.Host}:{npgsql.Port}/{npgsql.Database}?sslmode=disable&application_name=dapr-url-test";
        using var resources = new Resources().Component("store", "state.postgresql", new Dictionary<string, string> { ["connectionString"] = url });
        await using var host = await DaprTestHost.StartAsync("layout-url", resources, withApp: false);

        await host.Client.SaveStateAsync("store", "k", "v", cancellationToken: Ct);

        Assert.NotNull(await PostgresTable.RowAsync(db, "layout-url||k"));
    }

    [Fact]
    public async Task A_sidecar_without_a_connection_string_fails_to_start_and_says_why()
    {
        using var resources = new Resources().Component("store", "state.postgresql", new Dictionary<string, string> { ["tableName"] = "state" });

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => DaprTestHost.StartAsync("layout-no-conn", resources, withApp: false));

        Assert.Contains("missing connection string", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_npgsql_style_connection_string_is_refused_as_pgx_refuses_it()
    {
        // "Host=...;Port=..." is not a libpq string: pgx reads one unknown keyword "Host" and connects elsewhere.
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().Component("store", "state.postgresql", new Dictionary<string, string> { ["connectionString"] = db, ["timeoutInSeconds"] = "5" });

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => DaprTestHost.StartAsync("layout-npgsql-conn", resources, withApp: false));

        Assert.Contains("failed to ping the database", ex.Message, StringComparison.Ordinal);
    }
}
