using System.Globalization;
using System.Threading.RateLimiting;
using CqrsDapr.Contracts;
using CqrsDapr.Gateway.Problems;
using CqrsDapr.ServiceDefaults;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace CqrsDapr.Gateway.Limits;

/// <summary>A fixed window of requests per client IP address; over it, 429 with Retry-After.</summary>
internal static partial class ClientRateLimiting
{
    public static IServiceCollection AddClientRateLimiting(this IServiceCollection services)
    {
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<GatewayOptions>>((limiter, gateway) =>
        {
            var settings = gateway.Value.RateLimit;
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
                IsProbe(context.Request.Path)
                    ? RateLimitPartition.GetNoLimiter("probes")
                    : RateLimitPartition.GetFixedWindowLimiter(
                        context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                        _ => new FixedWindowRateLimiterOptions
                        {
                            PermitLimit = settings.PermitLimit,
                            Window = TimeSpan.FromSeconds(settings.WindowSeconds),
                            QueueLimit = 0,
                        }));
            limiter.OnRejected = OnRejected;
        });
        return services;
    }

    // Kubernetes probes come from the node, often many per second: they must never be throttled into a restart.
    private static bool IsProbe(PathString path) =>
        path.Equals(ServiceDefaultsExtensions.HealthPath, StringComparison.OrdinalIgnoreCase)
        || path.Equals(ServiceDefaultsExtensions.AlivePath, StringComparison.OrdinalIgnoreCase);

    private static async ValueTask OnRejected(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var context = rejected.HttpContext;
        if (rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
        {
            var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }

        LogRejected(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ClientRateLimiting)));
        await GatewayProblems.WriteAsync(context, StatusCodes.Status429TooManyRequests, "Too Many Requests", ProblemCodes.RateLimited);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rate limit reached for a client")]
    private static partial void LogRejected(ILogger logger);
}
