using CqrsDapr.Contracts;
using Microsoft.AspNetCore.Mvc;

namespace CqrsDapr.Gateway.Problems;

/// <summary>
/// Writes the gateway's own error answers as RFC 9457 ProblemDetails with a <c>code</c> from
/// <see cref="ProblemCodes"/>, never with internals. The service defaults' writers add the trace id and answer
/// problem+json whatever the client's Accept: it is the gateway's only error format.
/// </summary>
internal static class GatewayProblems
{
    public static async Task WriteAsync(HttpContext context, int status, string title, string code, string? detail = null)
    {
        context.Response.StatusCode = status;
        var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails
            {
                Status = status,
                Title = title,
                Detail = detail,
                Extensions = { [ProblemMembers.Code] = code },
            },
        });
    }
}
