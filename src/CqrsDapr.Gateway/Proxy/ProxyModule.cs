using CqrsDapr.Contracts;
using CqrsDapr.Gateway.Problems;
using Microsoft.AspNetCore.Diagnostics;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Transforms;

namespace CqrsDapr.Gateway.Proxy;

/// <summary>
/// The YARP proxy: routes and clusters come from the <c>ReverseProxy</c> configuration section; cluster destinations
/// are service names (<c>http://query-service</c>) resolved through Microsoft.Extensions.ServiceDiscovery, so Aspire,
/// Kubernetes and plain configuration (<c>Services:query-service:http:0</c>) all work.
/// </summary>
internal static partial class ProxyModule
{
    public const string SectionName = "ReverseProxy";

    public static IServiceCollection AddGatewayProxy(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddReverseProxy()
            .LoadFromConfig(configuration.GetSection(SectionName))
            .AddServiceDiscoveryDestinationResolver()
            .AddTransforms(transforms => transforms.AddRequestTransform(RemoveClientInternalHeaders));
        return services;
    }

    public static void MapGatewayProxy(this IEndpointRouteBuilder endpoints)
    {
        // Without routes every request would be a silent 404 (seen when the process starts outside its content root
        // and never reads appsettings.json): refuse to start instead.
        var configuration = endpoints.ServiceProvider.GetRequiredService<IConfiguration>();
        if (!configuration.GetSection($"{SectionName}:Routes").GetChildren().Any())
        {
            var environment = endpoints.ServiceProvider.GetRequiredService<IWebHostEnvironment>();
            throw new InvalidOperationException(
                $"No routes in configuration section {SectionName}:Routes. The route table is in appsettings.json; the content root is " +
                $"'{environment.ContentRootPath}' (start the gateway from its folder, or pass --contentRoot).");
        }

        endpoints.MapReverseProxy(proxy => proxy.Use(ForwardErrorsAsProblems));
    }

    /// <summary>
    /// Dapr's headers (<c>dapr-api-token</c>, <c>dapr-app-id</c>, caller ids) are trusted by the services only from
    /// their own sidecar; from a client they are forgeries. <c>Forwarded</c> is dropped too: the proxy sets the
    /// X-Forwarded-* headers itself from what it sees.
    /// </summary>
    private static ValueTask RemoveClientInternalHeaders(RequestTransformContext context)
    {
        var headers = context.ProxyRequest.Headers;
        var forged = headers
            .Select(header => header.Key)
            .Where(name => name.StartsWith("dapr-", StringComparison.OrdinalIgnoreCase)
                || name.Equals("Forwarded", StringComparison.OrdinalIgnoreCase))
            .ToList();
        foreach (var name in forged)
        {
            headers.Remove(name);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// A service's own answer goes back untouched (no status-code page over it); when the service could not be
    /// reached the gateway answers 502/503/504 with ProblemDetails instead of an empty body.
    /// </summary>
    private static async Task ForwardErrorsAsProblems(HttpContext context, Func<Task> next)
    {
        if (context.Features.Get<IStatusCodePagesFeature>() is { } statusCodePages)
        {
            statusCodePages.Enabled = false;
        }

        await next();

        var error = context.Features.Get<IForwarderErrorFeature>();
        if (error is null || context.Response.HasStarted)
        {
            return;
        }

        var status = context.Response.StatusCode is >= 500 and <= 599 ? context.Response.StatusCode : StatusCodes.Status502BadGateway;
        var cluster = context.GetReverseProxyFeature().Cluster?.Config.ClusterId ?? "unknown";
        LogForwardFailed(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ProxyModule)), cluster, error.Error);
        var (title, code) = status switch
        {
            StatusCodes.Status503ServiceUnavailable => ("Service Unavailable", ProblemCodes.BackendUnavailable),
            StatusCodes.Status504GatewayTimeout => ("Gateway Timeout", ProblemCodes.BackendTimeout),
            _ => ("Bad Gateway", ProblemCodes.BackendUnavailable),
        };
        await GatewayProblems.WriteAsync(context, status, title, code, "The service behind the gateway could not answer. Try again later.");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Forwarding to {Cluster} failed: {ForwarderError}")]
    private static partial void LogForwardFailed(ILogger logger, string cluster, ForwarderError forwarderError);
}
