using System.Diagnostics;
using CqrsDapr.DaprEmulator.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.DaprEmulator.Api.Http;

/// <summary>
/// daprd 1.16 <c>APITokenAuthMiddleware</c>: with <c>DAPR_API_TOKEN</c> set, every HTTP API call but the health
/// endpoints needs header <c>dapr-api-token</c>; otherwise 401. gRPC calls are checked by the gRPC interceptor.
/// Logs every HTTP API call at debug level.
/// </summary>
internal sealed partial class ApiTokenMiddleware(RequestDelegate next, EmulatorOptions options, ILogger<ApiTokenMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var isGrpc = context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true;
        // The internal invoke endpoint is another sidecar's hop, which checks its own key (daprd: the internal gRPC port).
        if (!isGrpc && options.ApiToken is { } token && !context.Request.Path.StartsWithSegments("/v1.0/healthz", StringComparison.Ordinal)
            && !context.Request.Path.StartsWithSegments(Invocation.ServiceInvocation.InternalPrefix, StringComparison.Ordinal))
        {
            if (!string.Equals(context.Request.Headers["dapr-api-token"].ToString(), token, StringComparison.Ordinal))
            {
                LogRejected(logger, context.Request.Method, context.Request.Path.Value);
                await HttpErrors.WriteAsync(context, StatusCodes.Status401Unauthorized, "ERR_UNAUTHORIZED", "invalid api token");
                return;
            }
        }

        if (isGrpc || !logger.IsEnabled(LogLevel.Debug))
        {
            await next(context);
            return;
        }

        var started = Stopwatch.GetTimestamp();
        await next(context);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        LogCall(logger, context.Request.Method, context.Request.Path.Value, context.Response.StatusCode, elapsed);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "HTTP API called: {Method} {Path} -> {Status} in {ElapsedMs:F2} ms")]
    private static partial void LogCall(ILogger logger, string method, string? path, int status, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rejected HTTP API call {Method} {Path}: missing or invalid dapr-api-token")]
    private static partial void LogRejected(ILogger logger, string method, string? path);
}
