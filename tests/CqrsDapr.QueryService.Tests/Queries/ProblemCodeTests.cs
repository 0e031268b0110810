using System.Net;
using System.Text.Json;
using CqrsDapr.QueryService.Tests.Infrastructure;

namespace CqrsDapr.QueryService.Tests.Queries;

/// <summary>Every error the query service answers is problem+json with a machine-readable <c>code</c>.</summary>
public sealed class ProblemCodeTests(QueryServiceHost host) : IClassFixture<QueryServiceHost>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<JsonElement> ProblemAsync(HttpMethod method, string path, HttpStatusCode status, string? consistencyToken = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (consistencyToken is not null)
        {
            request.Headers.Add("X-Consistency-Token", consistencyToken);
        }

        using var response = await host.Client.SendAsync(request, Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);

        Assert.True(response.StatusCode == status, $"{method} {path}: expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(body);
        Assert.Equal((int)status, problem.RootElement.GetProperty("status").GetInt32());
        return problem.RootElement.Clone();
    }

    [Theory]
    [InlineData("/api/products/not-a-uuid", "id")]
    [InlineData("/api/products?sort=cheapest", "sort")]
    [InlineData("/api/products?pageSize=101", "pageSize")]
    [InlineData("/api/products?pageToken=garbage", "pageToken")]
    public async Task An_invalid_parameter_is_400_validation_failed_with_the_field(string path, string field)
    {
        var problem = await ProblemAsync(HttpMethod.Get, path, HttpStatusCode.BadRequest);

        Assert.Equal("validation-failed", problem.GetProperty("code").GetString());
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _));
    }

    [Fact]
    public async Task A_malformed_consistency_token_is_400_validation_failed()
    {
        var problem = await ProblemAsync(HttpMethod.Get, "/api/products", HttpStatusCode.BadRequest, consistencyToken: "not a token");

        Assert.Equal("validation-failed", problem.GetProperty("code").GetString());
        Assert.True(problem.GetProperty("errors").TryGetProperty("X-Consistency-Token", out _));
    }

    [Theory]
    [InlineData("/api/orders")]
    [InlineData("/api/products/0190f1c2-7a3b-7cde-8f00-123456789abc/stock")]
    [InlineData("/nothing-here")]
    public async Task An_unknown_route_is_404_not_found(string path)
    {
        var problem = await ProblemAsync(HttpMethod.Get, path, HttpStatusCode.NotFound);

        Assert.Equal("not-found", problem.GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("POST", "/api/products")]
    [InlineData("DELETE", "/api/products/0190f1c2-7a3b-7cde-8f00-123456789abc")]
    [InlineData("PATCH", "/api/products/0190f1c2-7a3b-7cde-8f00-123456789abc")]
    public async Task A_write_method_on_a_query_route_is_405_method_not_allowed(string method, string path)
    {
        var problem = await ProblemAsync(new HttpMethod(method), path, HttpStatusCode.MethodNotAllowed);

        Assert.Equal("method-not-allowed", problem.GetProperty("code").GetString());
    }
}
