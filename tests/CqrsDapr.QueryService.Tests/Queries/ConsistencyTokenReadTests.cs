using System.Diagnostics;
using System.Net;
using System.Text.Json;
using CqrsDapr.Contracts;
using CqrsDapr.QueryService.Tests.Infrastructure;

namespace CqrsDapr.QueryService.Tests.Queries;

/// <summary>Reads that present <c>X-Consistency-Token</c> wait for the view to reach the write (host: 10 s wait, 5 s poll).</summary>
public sealed class ConsistencyTokenReadTests(QueryServiceHost host) : IClassFixture<QueryServiceHost>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Task<HttpResponseMessage> GetAsync(string path, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        request.Headers.Add("X-Consistency-Token", token);
        return host.Client.SendAsync(request, Ct);
    }

    [Fact]
    public async Task A_read_ahead_of_the_view_returns_as_soon_as_the_projector_signals_the_new_version()
    {
        var view = await host.AProductAsync("cons-" + Guid.NewGuid().ToString("N")[..8], "Before");
        var token = new ConsistencyToken("product", view.Id.ToString(), 2).ToString();

        var reading = GetAsync($"/api/products/{view.Id}", token);
        Assert.NotSame(reading, await Task.WhenAny(reading, Task.Delay(TimeSpan.FromMilliseconds(500), Ct))); // bounded negative check: it waits
        var projected = Stopwatch.StartNew();
        await host.ProjectAsync(view.Id, v => v with { Name = "After" });
        using var response = await reading;
        projected.Stop();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(projected.Elapsed < TimeSpan.FromSeconds(2), $"woke after {projected.Elapsed}; the 5 s poll, not the signal, answered");
        Assert.Equal("consistent", Assert.Single(response.Headers.GetValues("X-Consistency-Status")));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal("After", json.RootElement.GetProperty("name").GetString());
        Assert.Equal(2, json.RootElement.GetProperty("version").GetInt64());
    }

    [Fact]
    public async Task A_list_with_a_token_the_view_has_reached_answers_at_once_as_consistent()
    {
        var category = "cons-" + Guid.NewGuid().ToString("N")[..8];
        var view = await host.AProductAsync(category, version: 4);
        var token = new ConsistencyToken("product", view.Id.ToString(), 3).ToString();

        var clock = Stopwatch.StartNew();
        using var response = await GetAsync($"/api/products?category={category}", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
        Assert.Equal("consistent", Assert.Single(response.Headers.GetValues("X-Consistency-Status")));
    }

    [Fact]
    public async Task A_read_by_id_with_the_token_of_another_product_answers_with_the_product_asked_for()
    {
        var category = "cons-" + Guid.NewGuid().ToString("N")[..8];
        var written = await host.AProductAsync(category, "Written", version: 3);
        var asked = await host.AProductAsync(category, "Asked");
        var token = new ConsistencyToken("product", written.Id.ToString(), 3).ToString();

        using var response = await GetAsync($"/api/products/{asked.Id}", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("consistent", Assert.Single(response.Headers.GetValues("X-Consistency-Status")));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal(asked.Id, json.RootElement.GetProperty("id").GetGuid());
        Assert.Equal("Asked", json.RootElement.GetProperty("name").GetString());
    }

    [Theory]
    [InlineData("not a token")]
    [InlineData("djE6cHJvZHVjdA")] // "v1:product": too few parts
    public async Task A_malformed_token_is_400(string token)
    {
        using var response = await GetAsync($"/api/products/{Guid.NewGuid()}", token);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.True(json.RootElement.GetProperty("errors").TryGetProperty("X-Consistency-Token", out _));
    }

    [Theory]
    [InlineData("order")]
    [InlineData("product", "not-a-guid")]
    public async Task A_token_for_another_aggregate_type_or_a_non_uuid_id_is_400(string type, string? id = null)
    {
        var token = new ConsistencyToken(type, id ?? Guid.NewGuid().ToString(), 1).ToString();

        using var response = await GetAsync("/api/products", token);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}

/// <summary>With a 300 ms wait, a read the views never catch up with says so instead of serving stale data.</summary>
public sealed class ConsistencyTimeoutTests(ImpatientQueryServiceHost host) : IClassFixture<ImpatientQueryServiceHost>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("/api/products/{0}")]
    [InlineData("/api/products")]
    public async Task A_read_the_view_never_reaches_is_503_behind_with_retry_after_and_both_versions(string pathFormat)
    {
        var view = await host.AProductAsync("late-" + Guid.NewGuid().ToString("N")[..8]);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(string.Format(System.Globalization.CultureInfo.InvariantCulture, pathFormat, view.Id), UriKind.Relative));
        request.Headers.Add("X-Consistency-Token", new ConsistencyToken("product", view.Id.ToString(), 5).ToString());

        var clock = Stopwatch.StartNew();
        using var response = await host.Client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(300), $"gave up after {clock.Elapsed}");
        Assert.Equal("behind", Assert.Single(response.Headers.GetValues("X-Consistency-Status")));
        Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal("consistency-timeout", json.RootElement.GetProperty("code").GetString());
        Assert.Equal(5, json.RootElement.GetProperty("wantedVersion").GetInt64());
        Assert.Equal(1, json.RootElement.GetProperty("currentVersion").GetInt64());
    }

    [Fact]
    public async Task A_read_for_a_product_not_projected_at_all_is_503_at_version_0()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/products", UriKind.Relative));
        request.Headers.Add("X-Consistency-Token", new ConsistencyToken("product", Guid.NewGuid().ToString(), 1).ToString());

        using var response = await host.Client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal(0, json.RootElement.GetProperty("currentVersion").GetInt64());
    }
}
