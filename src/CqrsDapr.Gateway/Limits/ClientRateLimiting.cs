using System.Globalization;
using CqrsDapr.Contracts;
using CqrsDapr.Gateway.Problems;
using CqrsDapr.ServiceDefaults;

namespace CqrsDapr.Gateway.Limits;

/// <summary>A fixed window of requests per client IP address (<see cref="ClientWindows"/>); over it, 429 with Retry-After.</summary>
internal sealed partial class ClientRateLimiting(RequestDelegate next, ClientWindows windows, ILogger<ClientRateLimiting> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (IsProbe(context.Request.Path)
            || windows.TryAcquire(context.Connection.RemoteIpAddress?.ToString() ?? "unknown", out var retryAfter))
        {
            await next(context);
            return;
        }

        context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        LogRejected(logger);
        await GatewayProblems.WriteAsync(context, StatusCodes.Status429TooManyRequests, "Too Many Requests", ProblemCodes.RateLimited);
    }

    // Kubernetes probes come from the node, often many per second: they must never be throttled into a restart.
    private static bool IsProbe(PathString path) =>
        path.Equals(ServiceDefaultsExtensions.HealthPath, StringComparison.OrdinalIgnoreCase)
        || path.Equals(ServiceDefaultsExtensions.AlivePath, StringComparison.OrdinalIgnoreCase);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rate limit reached for a client")]
    private static partial void LogRejected(ILogger logger);
}
