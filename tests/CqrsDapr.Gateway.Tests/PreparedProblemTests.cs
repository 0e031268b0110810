using System.Text.Json;
using CqrsDapr.Contracts;
using CqrsDapr.Gateway.Problems;
using CqrsDapr.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace CqrsDapr.Gateway.Tests;

/// <summary>
/// The refusals written from a prepared body (<see cref="PreparedProblem"/>) say exactly what the problem details
/// service would have written for them: same members, same values, the request's own trace id; in one buffer whose
/// length is the Content-Length.
/// </summary>
public sealed class PreparedProblemTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(StatusCodes.Status503ServiceUnavailable, "Service Unavailable", ProblemCodes.Overloaded, "The gateway is at its limit of concurrent reads.")]
    [InlineData(StatusCodes.Status429TooManyRequests, "Too Many Requests", ProblemCodes.RateLimited, null)]
    public async Task A_prepared_problem_is_the_one_the_problem_details_service_writes(int status, string title, string code, string? detail)
    {
        await using var gateway = await GatewayScenario.StartAsync();
        var (prepared, preparedType, preparedLength) = await WriteAsync(gateway, "0HNA1B2C3D4E5:00000007", context => new PreparedProblem(status, title, code, detail).WriteAsync(context));
        var (written, writtenType, _) = await WriteAsync(gateway, "0HNA1B2C3D4E5:00000007", context => GatewayProblems.WriteAsync(context, status, title, code, detail));

        Assert.Equal(Members(written), Members(prepared));
        Assert.Equal(writtenType, preparedType);
        Assert.Equal(preparedLength, System.Text.Encoding.UTF8.GetByteCount(prepared));
    }

    [Fact]
    public async Task A_trace_id_that_needs_escaping_stays_valid_json()
    {
        await using var gateway = await GatewayScenario.StartAsync();
        var (body, _, length) = await WriteAsync(gateway, "a\"b\\c<d>", context => new PreparedProblem(503, "Service Unavailable", ProblemCodes.Overloaded).WriteAsync(context));

        using var problem = JsonDocument.Parse(body);
        Assert.Equal("a\"b\\c<d>", problem.RootElement.GetProperty("traceId").GetString());
        Assert.Equal(length, System.Text.Encoding.UTF8.GetByteCount(body));
    }

    private static async Task<(string Body, string? ContentType, long? Length)> WriteAsync(GatewayScenario gateway, string traceId, Func<HttpContext, Task> write)
    {
        using var scope = gateway.Services.CreateScope();
        var body = new MemoryStream();
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider, TraceIdentifier = traceId };
        context.Request.Headers.Accept = "application/json";
        context.Response.Body = body;
        await write(context);
        await context.Response.BodyWriter.FlushAsync(Ct);
        return (System.Text.Encoding.UTF8.GetString(body.ToArray()), context.Response.ContentType, context.Response.ContentLength);
    }

    private static SortedDictionary<string, string> Members(string json)
    {
        using var document = JsonDocument.Parse(json);
        return new SortedDictionary<string, string>(
            document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ToString(), StringComparer.Ordinal), StringComparer.Ordinal);
    }
}
