using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace CqrsDapr.ServiceDefaults;

/// <summary>
/// The last problem writer: RFC 9457 problem+json is this system's only error format, so a client whose
/// <c>Accept</c> names no JSON type (the default writer declines it) gets problem+json too, with its <c>code</c>,
/// rather than a plain-text status page without one.
/// </summary>
internal sealed class ProblemJsonForAnyAccept(IOptions<ProblemDetailsOptions> options) : IProblemDetailsWriter
{
    public const string ContentType = "application/problem+json";

    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var http = context.HttpContext;
        var problem = context.ProblemDetails;
        problem.Status ??= http.Response.StatusCode;
        problem.Title ??= ReasonPhrases.GetReasonPhrase(problem.Status.Value);
        options.Value.CustomizeProblemDetails?.Invoke(context);
        return new ValueTask(http.Response.WriteAsJsonAsync(problem, problem.GetType(), options: null, ContentType, http.RequestAborted));
    }
}
