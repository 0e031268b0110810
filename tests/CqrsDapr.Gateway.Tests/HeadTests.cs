using System.Net;
using CqrsDapr.Gateway.Tests.Infrastructure;

namespace CqrsDapr.Gateway.Tests;

/// <summary>HEAD goes wherever GET goes (the query service) and comes back with GET's status and headers, no body.</summary>
public sealed class HeadTests : GatewayTest
{
    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        return await Gateway.Http.SendAsync(request, Ct);
    }

    [Theory]
    [InlineData("/api/products")]
    [InlineData("/api/products/0190f1c2-7a3b-7cde-8f00-123456789abc")]
    [InlineData("/api/products?category=lighting&pageSize=2")]
    public async Task A_head_answers_the_status_and_headers_of_the_get_without_a_body(string path)
    {
        using var get = await SendAsync(HttpMethod.Get, path);
        using var head = await SendAsync(HttpMethod.Head, path);

        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(get.StatusCode, head.StatusCode);
        Assert.Equal(FakeService.ETag, head.Headers.ETag?.ToString());
        Assert.Equal(get.Headers.ETag, head.Headers.ETag);
        Assert.Equal(get.Content.Headers.ContentType, head.Content.Headers.ContentType);
        Assert.Equal("query-service".Length, get.Content.Headers.ContentLength);
        Assert.Equal(get.Content.Headers.ContentLength, head.Content.Headers.ContentLength);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync(Ct));
        Assert.Equal(["GET", "HEAD"], Gateway.Query.Received.Select(r => r.Method));
        Assert.All(Gateway.Query.Received, r => Assert.Equal(path, r.Target));
        Assert.Empty(Gateway.Command.Received);
    }

    [Fact]
    public async Task A_head_the_query_service_answers_with_an_error_keeps_that_status()
    {
        using var head = await SendAsync(HttpMethod.Head, "/api/products/status/404");

        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        Assert.Equal("HEAD", Assert.Single(Gateway.Query.Received).Method);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/products")]
    [InlineData("/dapr/config")]
    [InlineData("/internal/rebuilds/products")]
    public async Task A_head_outside_the_api_is_a_404_problem_without_a_body_and_not_forwarded(string path)
    {
        using var head = await SendAsync(HttpMethod.Head, path);

        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        Assert.Equal("application/problem+json", head.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync(Ct));
        Assert.Equal(0, Gateway.ForwardedCount);
    }
}
