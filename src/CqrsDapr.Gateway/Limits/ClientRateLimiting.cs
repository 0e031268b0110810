using System.Globalization;
using CqrsDapr.Contracts;
using CqrsDapr.Gateway.Problems;
using CqrsDapr.Gateway.Refusals;
using CqrsDapr.ServiceDefaults;

namespace CqrsDapr.Gateway.Limits;

/// <summary>
/// A fixed window of requests per client IP address (<see cref="ClientWindows"/>); over it, 429 with Retry-After, and
/// at most one warning per <see cref="RefusalReports.Interval"/> with the count.
/// </summary>
internal sealed partial class ClientRateLimiting(
    RequestDelegate next,
    ClientWindows windows,
    [FromKeyedServices(ClientRateLimitingServices.ClockKey)] TimeProvider clock,
    ILogger<ClientRateLimiting> logger)
{
    private readonly RefusalReports reports = new(clock);

    public async Task InvokeAsync(HttpContext context)
    {
        if (IsProbe(context.Request.Path)
            || windows.TryAcquire(context.Connection.RemoteIpAddress?.ToString() ?? "unknown", out var retryAfter))
        {
            await next(context);
            return;
        }

        context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        if (reports.Refused() is var count and > 0)
        {
            LogRejected(logger, count, (int)RefusalReports.Interval.TotalSeconds);
        }

        await GatewayProblems.WriteAsync(context, StatusCodes.Status429TooManyRequests, "Too Many Requests", ProblemCodes.RateLimited);
    }

    // Kubernetes probes come from the node, often many per second: they must never be throttled into a restart.
    private static bool IsProbe(PathString path) =>
        path.Equals(ServiceDefaultsExtensions.HealthPath, StringComparison.OrdinalIgnoreCase)
        || path.Equals(ServiceDefaultsExtensions.AlivePath, StringComparison.OrdinalIgnoreCase);

    [LoggerMessage(
        Level = LogLevel.Warning,
        Message = "Refused {Count} requests of clients over their rate limit since the last report (at most one report per {IntervalSeconds} s)")]
    private static partial void LogRejected(ILogger logger, long count, int intervalSeconds);
}
