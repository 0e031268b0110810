using System.Globalization;
using System.Threading.RateLimiting;
using CqrsDapr.Contracts;
using CqrsDapr.Gateway.Problems;
using CqrsDapr.Gateway.Refusals;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Model;

namespace CqrsDapr.Gateway.Admission;

/// <summary>
/// Admits a request to be forwarded only while its side (reads or writes) has a place or a place in its queue;
/// otherwise answers 503 <c>overloaded</c> with <c>Retry-After</c> at once, without forwarding anything. The place is
/// given back when the request is done, however it ends (answered, backend failure, client gone).
/// </summary>
/// <remarks>
/// Runs after routing, so only requests that matched a proxy route are counted: the gateway's own answers (health,
/// 404, 405) never wait here, and requests refused earlier (internal paths, 429, 413) never reach it.
/// </remarks>
internal sealed partial class AdmissionControl(
    RequestDelegate next, AdmissionGates gates, AdmissionMetrics metrics, IOptions<GatewayOptions> options, ILogger<AdmissionControl> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<RouteModel>() is not { } route)
        {
            await next(context);
            return;
        }

        var gate = gates.For(AdmissionSides.Of(route.Config.ClusterId, context.Request.Method));
        RateLimitLease lease;
        try
        {
            lease = await gate.EnterAsync(context.RequestAborted);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return; // the client left while its request waited in the queue: nobody to answer
        }

        using (lease)
        {
            if (!lease.IsAcquired)
            {
                await RefuseAsync(context, gate);
                return;
            }

            metrics.Admitted(gate.Side);
            await next(context);
        }
    }

    private Task RefuseAsync(HttpContext context, AdmissionGate gate)
    {
        metrics.Refused(gate.Side);
        if (gate.Refused() is var count and > 0)
        {
            LogRefused(logger, count, gate.Side.Name(), gate.Limits.ConcurrencyLimit, gate.Limits.QueueLimit, (int)RefusalReports.Interval.TotalSeconds);
        }

        var seconds = options.Value.Admission.RetryAfterSeconds;
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return GatewayProblems.WriteAsync(
            context,
            StatusCodes.Status503ServiceUnavailable,
            "Service Unavailable",
            ProblemCodes.Overloaded,
            $"The gateway is at its limit of concurrent {gate.Side.Name()}; the request was not forwarded. Try again after Retry-After seconds.");
    }

    [LoggerMessage(
        Level = LogLevel.Warning,
        Message = "Refused {Count} {Side} since the last report: {ConcurrencyLimit} in flight and {QueueLimit} queued (at most one report per {IntervalSeconds} s; the metric cqrsdapr.gateway.admission.refused counts every refusal)")]
    private static partial void LogRefused(ILogger logger, long count, string side, int concurrencyLimit, int queueLimit, int intervalSeconds);
}
