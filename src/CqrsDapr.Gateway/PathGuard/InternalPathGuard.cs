using CqrsDapr.Contracts;
using CqrsDapr.Gateway.Problems;

namespace CqrsDapr.Gateway.PathGuard;

/// <summary>Answers 404 for internal or ambiguous paths before routing, so they can never reach the proxy.</summary>
internal sealed partial class InternalPathGuard(RequestDelegate next, ILogger<InternalPathGuard> logger)
{
    public Task InvokeAsync(HttpContext context)
    {
        var verdict = PublicPaths.Classify(context.Request.Path.Value);
        if (verdict is PathVerdict.Internal or PathVerdict.Ambiguous)
        {
            LogRefused(logger, verdict);
            return GatewayProblems.WriteAsync(context, StatusCodes.Status404NotFound, "Not Found", ProblemCodes.NotFound);
        }

        return next(context);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a request for a non-public path ({Verdict})")]
    private static partial void LogRefused(ILogger logger, PathVerdict verdict);
}
