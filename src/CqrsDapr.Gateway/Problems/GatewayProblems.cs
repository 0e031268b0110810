using Microsoft.AspNetCore.Mvc;

namespace CqrsDapr.Gateway.Problems;

/// <summary>Writes the gateway's own error answers as RFC 9457 ProblemDetails, never with internals.</summary>
internal static class GatewayProblems
{
    public static async Task WriteAsync(HttpContext context, int status, string title, string? detail = null)
    {
        context.Response.StatusCode = status;
        var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        var written = await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });
        if (!written)
        {
            // A client that accepts no JSON still gets problem+json: RFC 9457 is the gateway's only error format.
            context.Response.ContentType = "application/problem+json";
            await context.Response.WriteAsJsonAsync(
                new ProblemDetails { Status = status, Title = title, Detail = detail, Extensions = { ["traceId"] = context.TraceIdentifier } },
                options: null,
                contentType: "application/problem+json",
                cancellationToken: context.RequestAborted);
        }
    }
}
