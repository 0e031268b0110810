using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace CqrsDapr.ServiceDefaults.Tests;

/// <summary>
/// Every error answer of an app on the service defaults (gateway and both services) is problem+json with a
/// machine-readable <c>code</c>: the one its writer set, or else the general code of its status.
/// </summary>
public sealed class ProblemCodeTests : IAsyncLifetime
{
    private ServiceDefaultsApp? app;

    private HttpClient Http => app?.Http ?? throw new InvalidOperationException("not started");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => app = await ServiceDefaultsApp.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (app is not null)
        {
            await app.DisposeAsync();
        }
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(body);
        Assert.Equal((int)status, problem.RootElement.GetProperty("status").GetInt32());
        Assert.True(problem.RootElement.TryGetProperty("traceId", out _));
        return problem.RootElement.Clone();
    }

    [Theory]
    [InlineData("/boom", HttpStatusCode.InternalServerError, "internal-error")]
    [InlineData("/missing", HttpStatusCode.NotFound, "not-found")]
    [InlineData("/no-such-route", HttpStatusCode.NotFound, "not-found")]
    [InlineData("/conflict", HttpStatusCode.Conflict, "conflict")]
    [InlineData("/teapot", (HttpStatusCode)418, "client-error")]
    [InlineData("/bad-gateway", HttpStatusCode.BadGateway, "backend-unavailable")]
    [InlineData("/invalid", HttpStatusCode.BadRequest, "validation-failed")]
    [InlineData("/coded", HttpStatusCode.Conflict, "stock-below-zero")]
    [InlineData("/only-post", HttpStatusCode.MethodNotAllowed, "method-not-allowed")]
    public async Task A_problem_without_a_code_gets_the_code_of_its_status_and_one_with_a_code_keeps_it(string path, HttpStatusCode status, string code)
    {
        using var response = await Http.GetAsync(new Uri(path, UriKind.Relative), Ct);

        var problem = await ProblemAsync(response, status);
        Assert.Equal(code, problem.GetProperty("code").GetString());
    }

    [Fact]
    public async Task An_unhandled_exception_is_internal_error_without_its_message_or_stack_trace()
    {
        using var response = await Http.GetAsync(new Uri("/boom", UriKind.Relative), Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal("internal-error", (await ProblemAsync(response, HttpStatusCode.InternalServerError)).GetProperty("code").GetString());
        Assert.DoesNotContain("secret internal detail", body, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/no-such-route", HttpStatusCode.NotFound, "not-found")]
    [InlineData("/boom", HttpStatusCode.InternalServerError, "internal-error")]
    [InlineData("/coded", HttpStatusCode.Conflict, "stock-below-zero")]
    public async Task A_client_that_accepts_no_json_still_gets_problem_json_with_the_code(string path, HttpStatusCode status, string code)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/html"));
        using var response = await Http.SendAsync(request, Ct);

        var problem = await ProblemAsync(response, status);
        Assert.Equal(code, problem.GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
    }

    [Fact]
    public async Task A_head_to_an_unknown_route_is_a_404_problem_without_a_body()
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, new Uri("/no-such-route", UriKind.Relative));
        using var response = await Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync(Ct));
    }
}
