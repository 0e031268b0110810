using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using CqrsDapr.Contracts;
using CqrsDapr.QueryService.Tests.Infrastructure;
using CqrsDapr.TestSupport;

namespace CqrsDapr.QueryService.Tests.Queries;

/// <summary>HEAD wherever GET is: the same status and headers as the GET, without a body.</summary>
public sealed class HeadTests(QueryServiceHost host) : IClassFixture<QueryServiceHost>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly string[] ComparedHeaders = ["ETag", "X-Consistency-Status", "Retry-After", "Content-Type", "Content-Length"];

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, Action<HttpRequestHeaders>? headers = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        headers?.Invoke(request.Headers);
        return await host.Client.SendAsync(request, Ct);
    }

    /// <summary>Sends the GET and the HEAD; asserts the HEAD has the GET's status and headers and no body; returns the HEAD.</summary>
    private async Task<HttpResponseMessage> AssertHeadLikeGetAsync(string path, HttpStatusCode status, Action<HttpRequestHeaders>? headers = null)
    {
        using var get = await SendAsync(HttpMethod.Get, path, headers);
        var head = await SendAsync(HttpMethod.Head, path, headers);

        Assert.Equal(status, get.StatusCode);
        Assert.Equal(get.StatusCode, head.StatusCode);
        foreach (var name in ComparedHeaders)
        {
            Assert.Equal(Values(get, name), Values(head, name));
        }

        Assert.Empty(await head.Content.ReadAsByteArrayAsync(Ct));
        return head;
    }

    private static string? Values(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? string.Join(", ", values)
            : null;

    [Fact]
    public async Task A_head_for_a_product_answers_200_with_its_etag_and_content_type_and_no_body()
    {
        var view = await host.AProductAsync("head-" + Guid.NewGuid().ToString("N")[..8], version: 3);

        using var head = await AssertHeadLikeGetAsync($"/api/products/{view.Id}", HttpStatusCode.OK);

        Assert.Equal("\"3\"", head.Headers.ETag?.ToString());
        Assert.Equal("application/json", head.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_head_with_if_none_match_of_the_current_version_is_304()
    {
        var view = await host.AProductAsync("head-" + Guid.NewGuid().ToString("N")[..8], version: 2);

        using var head = await AssertHeadLikeGetAsync($"/api/products/{view.Id}", HttpStatusCode.NotModified, h => h.IfNoneMatch.Add(new EntityTagHeaderValue("\"2\"")));

        Assert.Equal("\"2\"", head.Headers.ETag?.ToString());
    }

    [Fact]
    public async Task A_head_for_a_list_answers_200_with_its_content_type_and_no_body()
    {
        var category = "head-" + Guid.NewGuid().ToString("N")[..8];
        await host.AProductAsync(category);

        using var head = await AssertHeadLikeGetAsync($"/api/products?category={category}&sort=-price", HttpStatusCode.OK);

        Assert.Equal("application/json", head.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("/api/products/{0}")]
    [InlineData("/api/products?category=x")]
    public async Task A_head_with_a_consistency_token_the_view_has_reached_is_consistent(string pathFormat)
    {
        var view = await host.AProductAsync("head-" + Guid.NewGuid().ToString("N")[..8], version: 2);
        var token = new ConsistencyToken("product", view.Id.ToString(), 2).ToString();

        using var head = await AssertHeadLikeGetAsync(
            string.Format(CultureInfo.InvariantCulture, pathFormat, view.Id), HttpStatusCode.OK, h => h.Add("X-Consistency-Token", token));

        Assert.Equal("consistent", Assert.Single(head.Headers.GetValues("X-Consistency-Status")));
    }

    [Theory]
    [InlineData("/api/products/{0}", HttpStatusCode.NotFound)]
    [InlineData("/api/products/not-a-uuid", HttpStatusCode.BadRequest)]
    [InlineData("/api/products?pageSize=0", HttpStatusCode.BadRequest)]
    public async Task A_head_that_fails_has_the_status_and_problem_content_type_of_the_get_and_no_body(string pathFormat, HttpStatusCode status)
    {
        using var head = await AssertHeadLikeGetAsync(string.Format(CultureInfo.InvariantCulture, pathFormat, Guid.NewGuid()), status);

        Assert.Equal("application/problem+json", head.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_head_with_a_malformed_consistency_token_is_400()
    {
        using var head = await AssertHeadLikeGetAsync("/api/products", HttpStatusCode.BadRequest, h => h.Add("X-Consistency-Token", "not a token"));

        Assert.Equal("application/problem+json", head.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public void Every_public_get_route_answers_head_too()
    {
        var routes = AppRoutes.All(host.Services);
        var publicGets = routes.Where(r => r.Method == "GET" && r.Path.StartsWith("/api/", StringComparison.Ordinal)).ToList();

        Assert.NotEmpty(publicGets);
        Assert.All(publicGets, get => Assert.Contains(new AppRoute("HEAD", get.Path), routes));
    }
}

/// <summary>With a 300 ms wait, a HEAD the views never catch up with is 503 behind, like the GET.</summary>
public sealed class HeadConsistencyTimeoutTests(ImpatientQueryServiceHost host) : IClassFixture<ImpatientQueryServiceHost>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("/api/products/{0}")]
    [InlineData("/api/products")]
    public async Task A_head_the_view_never_reaches_is_503_behind_with_retry_after_and_no_body(string pathFormat)
    {
        var view = await host.AProductAsync("late-head-" + Guid.NewGuid().ToString("N")[..8]);
        using var request = new HttpRequestMessage(HttpMethod.Head, new Uri(string.Format(CultureInfo.InvariantCulture, pathFormat, view.Id), UriKind.Relative));
        request.Headers.Add("X-Consistency-Token", new ConsistencyToken("product", view.Id.ToString(), 5).ToString());

        using var response = await host.Client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("behind", Assert.Single(response.Headers.GetValues("X-Consistency-Status")));
        Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync(Ct));
    }
}
