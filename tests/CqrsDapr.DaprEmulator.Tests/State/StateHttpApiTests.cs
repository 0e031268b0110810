using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CqrsDapr.DaprEmulator.Tests.Infrastructure;

namespace CqrsDapr.DaprEmulator.Tests.State;

/// <summary>The state part of the Dapr HTTP API v1.0 (daprd 1.16 status codes) over <c>state.postgresql</c> v1.</summary>
public sealed class StateHttpApiTests(Backends backends)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Get_answers_204_for_a_missing_key_and_200_with_the_etag_header_for_a_saved_one()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("store", db);
        await using var host = await DaprTestHost.StartAsync("http-get", resources, withApp: false);
        using var http = Client(host);

        using var missing = await http.GetAsync(new Uri("/v1.0/state/store/nothing", UriKind.Relative), Ct);
        using var saved = await SaveAsync(http, "store", "[{\"key\":\"k\",\"value\":{\"n\":1}}]");
        using var found = await http.GetAsync(new Uri("/v1.0/state/store/k", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.NoContent, missing.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, saved.StatusCode);
        Assert.Equal(HttpStatusCode.OK, found.StatusCode);
        Assert.Equal((await PostgresTable.RowAsync(db, "http-get||k"))!.Xmin, found.Headers.GetValues("ETag").Single());
        Assert.Equal("{\"n\": 1}", await found.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task Save_answers_409_for_a_stale_etag_and_400_for_an_etag_that_is_not_an_xmin()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("store", db);
        await using var host = await DaprTestHost.StartAsync("http-etag", resources, withApp: false);
        using var http = Client(host);
        using (await SaveAsync(http, "store", "[{\"key\":\"k\",\"value\":\"v1\"}]"))
        {
        }

        var etag = (await PostgresTable.RowAsync(db, "http-etag||k"))!.Xmin;

        using var stale = await SaveAsync(http, "store", "[{\"key\":\"k\",\"value\":\"v2\",\"etag\":\"1\"}]");
        using var invalid = await SaveAsync(http, "store", "[{\"key\":\"k\",\"value\":\"v2\",\"etag\":\"abc\"}]");
        using var current = await SaveAsync(http, "store", $"[{{\"key\":\"k\",\"value\":\"v2\",\"etag\":\"{etag}\"}}]");

        Assert.Equal(HttpStatusCode.Conflict, stale.StatusCode);
        Assert.Equal("ERR_STATE_SAVE", await ErrorCodeAsync(stale));
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, current.StatusCode);
        Assert.Equal("\"v2\"", (await PostgresTable.RowAsync(db, "http-etag||k"))!.Value);
    }

    [Fact]
    public async Task An_unknown_store_is_a_400_with_err_state_store_not_found()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("store", db);
        await using var host = await DaprTestHost.StartAsync("http-unknown", resources, withApp: false);
        using var http = Client(host);

        using var save = await SaveAsync(http, "nope", "[{\"key\":\"k\",\"value\":1}]");
        using var get = await http.GetAsync(new Uri("/v1.0/state/nope/k", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, save.StatusCode);
        Assert.Equal("ERR_STATE_STORE_NOT_FOUND", await ErrorCodeAsync(save));
        Assert.Equal(HttpStatusCode.BadRequest, get.StatusCode);
        Assert.Empty(await PostgresTable.RowsAsync(db));
    }

    [Fact]
    public async Task Delete_honours_if_match_409_when_stale_204_when_current()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("store", db);
        await using var host = await DaprTestHost.StartAsync("http-delete", resources, withApp: false);
        using var http = Client(host);
        using (await SaveAsync(http, "store", "[{\"key\":\"k\",\"value\":\"v\"}]"))
        {
        }

        var etag = (await PostgresTable.RowAsync(db, "http-delete||k"))!.Xmin;

        using var stale = await DeleteAsync(http, "k", "1");
        Assert.NotNull(await PostgresTable.RowAsync(db, "http-delete||k"));
        using var current = await DeleteAsync(http, "k", etag);
        using var after = await http.GetAsync(new Uri("/v1.0/state/store/k", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.Conflict, stale.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, current.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, after.StatusCode);
        Assert.Null(await PostgresTable.RowAsync(db, "http-delete||k"));
    }

    [Fact]
    public async Task The_alpha_query_endpoint_returns_results_and_the_next_page_token()
    {
        var db = await backends.NewDatabaseAsync();
        using var resources = new Resources().PostgresState("store", db);
        await using var host = await DaprTestHost.StartAsync("http-query", resources, withApp: false);
        using var http = Client(host);
        using (await SaveAsync(http, "store", "[{\"key\":\"a\",\"value\":{\"kind\":\"x\"}},{\"key\":\"b\",\"value\":{\"kind\":\"x\"}},{\"key\":\"c\",\"value\":{\"kind\":\"y\"}}]"))
        {
        }

        using var body = new StringContent("{\"filter\":{\"EQ\":{\"kind\":\"x\"}},\"sort\":[{\"key\":\"kind\"}],\"page\":{\"limit\":1}}", Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri("/v1.0-alpha1/state/store/query", UriKind.Relative), body, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        var result = Assert.Single(json.RootElement.GetProperty("results").EnumerateArray());
        Assert.Equal("x", result.GetProperty("data").GetProperty("kind").GetString());
        Assert.Equal("1", json.RootElement.GetProperty("token").GetString());
    }

    private static HttpClient Client(DaprTestHost host)
    {
        var http = new HttpClient { BaseAddress = new Uri(host.Sidecar.HttpEndpoint) };
        http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return http;
    }

    private static async Task<HttpResponseMessage> SaveAsync(HttpClient http, string store, string json)
    {
        using var body = new StringContent(json, Encoding.UTF8, "application/json");
        return await http.PostAsync(new Uri($"/v1.0/state/{store}", UriKind.Relative), body, Ct);
    }

    private static async Task<HttpResponseMessage> DeleteAsync(HttpClient http, string key, string etag)
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, new Uri($"/v1.0/state/store/{key}", UriKind.Relative));
        request.Headers.TryAddWithoutValidation("If-Match", etag);
        return await http.SendAsync(request, Ct);
    }

    private static async Task<string?> ErrorCodeAsync(HttpResponseMessage response)
    {
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        return json.RootElement.GetProperty("errorCode").GetString();
    }
}
