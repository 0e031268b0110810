using System.Net;
using System.Text;
using System.Text.Json;
using CqrsDapr.Gateway.Tests.Infrastructure;

namespace CqrsDapr.Gateway.Tests;

public sealed class RouteTableTests : GatewayTest
{
    [Fact]
    public async Task A_get_goes_to_the_query_service_with_path_and_query_intact()
    {
        using var response = await Gateway.Http.GetAsync(new Uri("/api/products/42?include=stock&page=2", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("query-service", await response.Content.ReadAsStringAsync(Ct));
        var received = Assert.Single(Gateway.Query.Received);
        Assert.Equal("GET", received.Method);
        Assert.Equal("/api/products/42?include=stock&page=2", received.Target);
        Assert.Empty(Gateway.Command.Received);
    }

    [Fact]
    public async Task A_head_goes_to_the_query_service()
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, new Uri("/api/products/42", UriKind.Relative));
        using var response = await Gateway.Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("query-service", response.Headers.GetValues("X-Served-By").Single());
        var received = Assert.Single(Gateway.Query.Received);
        Assert.Equal("HEAD", received.Method);
        Assert.Equal("/api/products/42", received.Target);
        Assert.Empty(Gateway.Command.Received);
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PUT")]
    [InlineData("PATCH")]
    [InlineData("DELETE")]
    public async Task A_write_goes_to_the_command_service_with_path_query_and_body_intact(string method)
    {
        const string body = """{"name":"Kettle","price":12.5}""";
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri("/api/products/42?dryRun=false", UriKind.Relative))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        using var response = await Gateway.Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("command-service", await response.Content.ReadAsStringAsync(Ct));
        var received = Assert.Single(Gateway.Command.Received);
        Assert.Equal(method, received.Method);
        Assert.Equal("/api/products/42?dryRun=false", received.Target);
        Assert.Equal(body, received.Body);
        Assert.StartsWith("application/json", received.Header("Content-Type"), StringComparison.Ordinal);
        Assert.Empty(Gateway.Query.Received);
    }

    [Theory]
    [InlineData("TRACE")]
    [InlineData("PROPFIND")]
    [InlineData("OPTIONS")]
    public async Task Other_methods_on_the_api_are_405_problem_details_and_not_forwarded(string method)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri("/api/products", UriKind.Relative));
        using var response = await Gateway.Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        await AssertProblemAsync(response, 405, "method-not-allowed");
        Assert.Equal(0, Gateway.ForwardedCount);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/products")]
    [InlineData("/apis/products")]
    [InlineData("/swagger/index.html")]
    public async Task Paths_outside_the_api_are_404_problem_details_and_not_forwarded(string path)
    {
        using var get = await Gateway.Http.GetAsync(new Uri(path, UriKind.Relative), Ct);
        using var post = await Gateway.Http.PostAsync(new Uri(path, UriKind.Relative), new StringContent("{}"), Ct);

        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, post.StatusCode);
        await AssertProblemAsync(get, 404, "not-found");
        await AssertProblemAsync(post, 404, "not-found");
        Assert.Equal(0, Gateway.ForwardedCount);
    }

    [Theory]
    [InlineData("/health")]
    [InlineData("/alive")]
    public async Task The_gateways_own_health_endpoints_answer_and_are_not_forwarded(string path)
    {
        using var response = await Gateway.Http.GetAsync(new Uri(path, UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal(0, Gateway.ForwardedCount);
    }

    [Fact]
    public async Task A_service_answer_is_passed_back_untouched_even_when_it_is_an_empty_error()
    {
        using var response = await Gateway.Http.GetAsync(new Uri("/api/products/status/404", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("", await response.Content.ReadAsStringAsync(Ct));
        Assert.Single(Gateway.Query.Received);
    }

    /// <summary>Problem+json with this status and this machine-readable <c>code</c>.</summary>
    internal static async Task AssertProblemAsync(HttpResponseMessage response, int status, string code)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal(status, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Equal(code, problem.RootElement.GetProperty("code").GetString());
    }
}
