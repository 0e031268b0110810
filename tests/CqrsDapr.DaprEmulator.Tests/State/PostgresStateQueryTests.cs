using System.Text;
using System.Text.Json;
using CqrsDapr.DaprEmulator.Tests.Infrastructure;
using Dapr.Client;
using Grpc.Core;

namespace CqrsDapr.DaprEmulator.Tests.State;

/// <summary>
/// The state query API on <c>state.postgresql</c> v1 (components-contrib v1.16 <c>postgresql_query.go</c>): paths
/// compare as text, operands are bound as Go prints them, paging is LIMIT/OFFSET, and nothing is scoped to the app.
/// </summary>
public sealed class PostgresStateQueryTests(Backends backends)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Eq_in_and_nested_and_or_filters_select_on_json_paths()
    {
        await using var scope = await StartWithProductsAsync("query-filters");

        var lamps = await QueryKeysAsync(scope.Host, "{\"filter\":{\"EQ\":{\"category\":\"lamp\"}}}");
        var byIn = await QueryKeysAsync(scope.Host, "{\"filter\":{\"IN\":{\"category\":[\"desk\",\"chair\"]}}}");
        var nested = await QueryKeysAsync(scope.Host, "{\"filter\":{\"OR\":[{\"EQ\":{\"dims.width\":\"120\"}},{\"AND\":[{\"EQ\":{\"category\":\"lamp\"}},{\"NEQ\":{\"color\":\"red\"}}]}]}}");

        Assert.Equal(["p10", "p9"], lamps);
        Assert.Equal(["p100", "p95"], byIn);
        Assert.Equal(["p100", "p9"], nested);
    }

    [Fact]
    public async Task Gt_on_numbers_compares_text_so_ten_is_not_greater_than_nine()
    {
        await using var scope = await StartWithProductsAsync("query-gt");

        // Prices 9, 10, 95, 100: a numeric comparison would return 10, 95 and 100.
        var greater = await QueryKeysAsync(scope.Host, "{\"filter\":{\"GT\":{\"price\":9}}}");
        var lessOrEqual = await QueryKeysAsync(scope.Host, "{\"filter\":{\"LTE\":{\"price\":100}}}");

        Assert.Equal(["p95"], greater);
        Assert.Equal(["p10", "p100"], lessOrEqual);
    }

    [Fact]
    public async Task Numeric_operands_are_bound_as_go_prints_a_float64_so_a_million_is_1e06()
    {
        await using var scope = await StartWithProductsAsync("query-float-text");
        await scope.Host.Client.SaveStateAsync("store", "big", new { Category = "crane", Weight = 1000000 }, metadata: PostgresTable.Json, cancellationToken: Ct);

        Assert.Empty(await QueryKeysAsync(scope.Host, "{\"filter\":{\"EQ\":{\"weight\":1000000}}}"));
        Assert.Equal(["big"], await QueryKeysAsync(scope.Host, "{\"filter\":{\"EQ\":{\"weight\":\"1000000\"}}}"));
        Assert.Equal(["p100"], await QueryKeysAsync(scope.Host, "{\"filter\":{\"EQ\":{\"price\":100}}}"));
    }

    [Fact]
    public async Task Range_operators_refuse_string_operands()
    {
        await using var scope = await StartWithProductsAsync("query-gt-string");

        var failure = await PostgresTable.RpcFailureAsync(() => scope.Host.Client.QueryStateAsync<JsonElement>("store", "{\"filter\":{\"GT\":{\"name\":\"m\"}}}", cancellationToken: Ct));

        Assert.Equal(StatusCode.Internal, failure.StatusCode);
        Assert.Contains("string type not permitted", failure.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sorting_is_lexicographic_on_the_text_of_the_field_in_both_directions()
    {
        await using var scope = await StartWithProductsAsync("query-sort");

        var ascending = await QueryKeysAsync(scope.Host, "{\"sort\":[{\"key\":\"price\"}]}", sorted: false);
        var descending = await QueryKeysAsync(scope.Host, "{\"sort\":[{\"key\":\"price\",\"order\":\"DESC\"}]}", sorted: false);
        var twoKeys = await QueryKeysAsync(scope.Host, "{\"sort\":[{\"key\":\"category\",\"order\":\"DESC\"},{\"key\":\"name\",\"order\":\"ASC\"}]}", sorted: false);

        Assert.Equal(["p10", "p100", "p9", "p95"], ascending);
        Assert.Equal(["p95", "p9", "p100", "p10"], descending);
        Assert.Equal(["p9", "p10", "p100", "p95"], twoKeys);
    }

    [Fact]
    public async Task Paging_walks_every_row_and_the_token_is_the_offset_of_the_next_page()
    {
        await using var scope = await StartWithProductsAsync("query-paging");
        await scope.Host.Client.SaveStateAsync("store", "p7", new { Name = "stool", Category = "chair", Price = 7 }, metadata: PostgresTable.Json, cancellationToken: Ct);

        var pages = new List<(IReadOnlyList<string> Keys, string Token)>();
        string? token = null;
        do
        {
            var page = token is null ? "" : $",\"token\":\"{token}\"";
            var response = await scope.Host.Client.QueryStateAsync<JsonElement>("store", $"{{\"sort\":[{{\"key\":\"name\"}}],\"page\":{{\"limit\":2{page}}}}}", cancellationToken: Ct);
            pages.Add((response.Results.Select(r => r.Key).ToList(), response.Token));
            token = response.Token;
        }
        while (!string.IsNullOrEmpty(token) && pages.Count < 10);

        // v1 returns a token whenever a limit is set, even on a short last page; daprd answers an empty page with
        // neither results nor token.
        Assert.Equal(["2", "4", "5", ""], pages.Select(p => p.Token));
        Assert.Equal([2, 2, 1, 0], pages.Select(p => p.Keys.Count));
        Assert.Equal(["p9", "p100", "p95", "p10", "p7"], pages.SelectMany(p => p.Keys));
    }

    [Fact]
    public async Task A_query_sees_every_row_of_the_table_including_other_apps_and_actor_state()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("store", db);
        await using var mine = await DaprTestHost.StartAsync("query-mine", resources, withApp: false);
        await using var theirs = await DaprTestHost.StartAsync("query-theirs", resources, withApp: false);
        await mine.Client.SaveStateAsync("store", "order-1", new { Status = "open" }, metadata: PostgresTable.Json, cancellationToken: Ct);
        await theirs.Client.SaveStateAsync("store", "order-2", new { Status = "open" }, metadata: PostgresTable.Json, cancellationToken: Ct);
        await PostgresTable.ExecuteAsync(db, "INSERT INTO state (key, value, isbinary) VALUES ('query-theirs||CartActor||42||cart', '{\"status\": \"open\"}', false)");

        var response = await mine.Client.QueryStateAsync<Dictionary<string, string>>("store", "{\"filter\":{\"EQ\":{\"status\":\"open\"}}}", cancellationToken: Ct);

        // Keys come back as daprd's GetOriginalStateKey: the second "||" segment, so the actor row shows its type.
        Assert.Equal(["CartActor", "order-1", "order-2"], response.Results.Select(r => r.Key).Order(StringComparer.Ordinal));
        Assert.All(response.Results, r => Assert.Equal("open", r.Data!["status"]));
    }

    [Fact]
    public async Task Values_saved_as_bytes_are_invisible_to_filters_and_come_back_as_their_base64_string()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("store", db);
        await using var host = await DaprTestHost.StartAsync("query-binary", resources, withApp: false);
        await host.Client.SaveStateAsync("store", "no-content-type", new { Status = "open" }, cancellationToken: Ct);

        var filtered = await host.Client.QueryStateAsync<JsonElement>("store", "{\"filter\":{\"EQ\":{\"status\":\"open\"}}}", cancellationToken: Ct);
        var all = await host.Client.QueryStateAsync<string>("store", "{}", cancellationToken: Ct);

        Assert.Empty(filtered.Results);
        var item = Assert.Single(all.Results);
        Assert.Equal("no-content-type", item.Key);
        Assert.Equal("{\"status\":\"open\"}", Encoding.UTF8.GetString(Convert.FromBase64String(item.Data!)));
        Assert.Equal((await PostgresTable.RowAsync(db, "query-binary||no-content-type"))!.Xmin, item.ETag);
    }

    [Fact]
    public async Task A_query_that_does_not_parse_is_a_failed_query_not_an_invalid_argument()
    {
        await using var scope = await StartWithProductsAsync("query-malformed");

        var oneOperand = await PostgresTable.RpcFailureAsync(() => scope.Host.Client.QueryStateAsync<JsonElement>("store", "{\"filter\":{\"AND\":[{\"EQ\":{\"a\":\"b\"}}]}}", cancellationToken: Ct));
        var emptyIn = await PostgresTable.RpcFailureAsync(() => scope.Host.Client.QueryStateAsync<JsonElement>("store", "{\"filter\":{\"IN\":{\"category\":[]}}}", cancellationToken: Ct));

        Assert.Equal(StatusCode.Internal, oneOperand.StatusCode);
        Assert.Contains("at least two entries", oneOperand.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.Internal, emptyIn.StatusCode);
        Assert.Contains("empty IN operator", emptyIn.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_in_memory_store_refuses_queries()
    {
        using var resources = new Resources().Component("memory", "state.in-memory");
        await using var host = await DaprTestHost.StartAsync("query-in-memory", resources, withApp: false);
        await host.Client.SaveStateAsync("memory", "k", new { Status = "open" }, metadata: PostgresTable.Json, cancellationToken: Ct);

        var failure = await PostgresTable.RpcFailureAsync(() => host.Client.QueryStateAsync<JsonElement>("memory", "{}", cancellationToken: Ct));

        Assert.Equal(StatusCode.Internal, failure.StatusCode);
        Assert.Contains("query", failure.Status.Detail, StringComparison.OrdinalIgnoreCase);
    }

    private async Task<ProductScope> StartWithProductsAsync(string appId)
    {
        var db = await backends.NewDatabaseAsync();
        var resources = new Resources().PostgresState("store", db);
        var host = await DaprTestHost.StartAsync(appId, resources, withApp: false);
        var products = new (string Key, object Value)[]
        {
            ("p9", new { Name = "bulb", Category = "lamp", Color = "white", Price = 9 }),
            ("p10", new { Name = "reading lamp", Category = "lamp", Color = "red", Price = 10 }),
            ("p95", new { Name = "office chair", Category = "chair", Color = "black", Price = 95 }),
            ("p100", new { Name = "desk", Category = "desk", Color = "oak", Price = 100, Dims = new { Width = 120 } }),
        };
        foreach (var (key, value) in products)
        {
            await host.Client.SaveStateAsync("store", key, value, metadata: PostgresTable.Json, cancellationToken: Ct);
        }

        return new ProductScope(host, resources);
    }

    private static async Task<IReadOnlyList<string>> QueryKeysAsync(DaprTestHost host, string query, bool sorted = true)
    {
        var response = await host.Client.QueryStateAsync<JsonElement>("store", query, cancellationToken: Ct);
        var keys = response.Results.Select(r => r.Key);
        return (sorted ? keys.Order(StringComparer.Ordinal) : keys).ToList();
    }

    private sealed class ProductScope(DaprTestHost host, Resources resources) : IAsyncDisposable
    {
        public DaprTestHost Host => host;

        public async ValueTask DisposeAsync()
        {
            await host.DisposeAsync();
            resources.Dispose();
        }
    }
}
