using System.Net;
using System.Text.Json;
using CqrsDapr.ServiceDefaults;

namespace CqrsDapr.ServiceDefaults.Tests;

public sealed class ServiceDefaultsTests : IAsyncLifetime
{
    private ServiceDefaultsApp? app;

    private HttpClient Http => app?.Http ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync() => app = await ServiceDefaultsApp.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (app is not null)
        {
            await app.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("/health")]
    [InlineData("/alive")]
    public async Task Health_endpoints_answer_in_production(string path)
    {
        using var response = await Http.GetAsync(new Uri(path, UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task An_unhandled_exception_becomes_problem_details_without_its_message_or_stack_trace()
    {
        using var response = await Http.GetAsync(new Uri("/boom", UriKind.Relative), TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        using var problem = JsonDocument.Parse(body);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(500, problem.RootElement.GetProperty("status").GetInt32());
        Assert.True(problem.RootElement.TryGetProperty("traceId", out _));
        Assert.DoesNotContain("secret internal detail", body, StringComparison.Ordinal);
        Assert.DoesNotContain("InvalidOperationException", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bare_error_status_becomes_problem_details()
    {
        using var response = await Http.GetAsync(new Uri("/missing", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
