using Aspire.Hosting.Eventing;
using Aspire.Hosting.Lifecycle;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CqrsDapr.AppHost;

/// <summary>
/// No request of the system passes through one of Aspire's proxies, in either profile: every endpoint of every
/// resource (the gateway's public one, the services', the sidecars', PostgreSQL's, Redis's, Dapr's control plane's) and
/// the dashboard's OTLP endpoints, where every span of every request goes, are called on the port their process
/// listens on. DCP, Aspire's orchestrator, runs the proxies in its own process: with them on every hop, heavy load ran
/// it out of file descriptors, and it stopped the whole system. Ports are what they were: a fixed one
/// (<c>CqrsDapr:Ports:*</c>, the gateway's 8080) is the process's own and checked before the start
/// (<see cref="AppHostPorts"/>), the others are allocated by DCP, and the dashboard links to them as before.
/// </summary>
/// <remarks>
/// The dashboard's own browser endpoint stays behind Aspire's proxy, as Aspire sets it: one browser, no request of
/// the system. With the test harness's randomized ports (<c>DcpPublisher:RandomizePorts</c>) the dashboard's endpoints
/// stay proxied too, which is what lets the harness move them to free ports.
/// </remarks>
internal static class DirectEndpoints
{
    /// <summary>Aspire's name of the dashboard resource (its <c>KnownResourceNames.AspireDashboard</c>, internal).</summary>
    internal const string DashboardResource = "aspire-dashboard";

    /// <summary>Takes every endpoint of the model built so far off the proxies, and the dashboard's OTLP endpoints at start.</summary>
    public static void Apply(IDistributedApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        foreach (var endpoint in builder.Resources.SelectMany(resource => resource.Annotations.OfType<EndpointAnnotation>()))
        {
            endpoint.IsProxied = false;
        }

        if (builder.ExecutionContext.IsRunMode && !builder.Configuration.GetValue<bool>("DcpPublisher:RandomizePorts"))
        {
            // A subscriber's handlers run after Aspire's own, which adds the dashboard resource at BeforeStartEvent.
            builder.Services.AddEventingSubscriber<DashboardOtlp>();
        }
    }

    /// <summary>Whether <paramref name="endpoint"/> is one of the dashboard's OTLP endpoints (gRPC, HTTP).</summary>
    internal static bool IsOtlp(EndpointAnnotation endpoint) => endpoint.Name.StartsWith("otlp", StringComparison.Ordinal);

    /// <summary>Takes the dashboard's OTLP endpoints off the proxy once Aspire has added the dashboard.</summary>
    private sealed class DashboardOtlp : IDistributedApplicationEventingSubscriber
    {
        public Task SubscribeAsync(IDistributedApplicationEventing eventing, DistributedApplicationExecutionContext executionContext, CancellationToken cancellationToken)
        {
            eventing.Subscribe<BeforeStartEvent>((@event, _) =>
            {
                foreach (var endpoint in @event.Model.Resources.Where(resource => resource.Name == DashboardResource)
                    .SelectMany(resource => resource.Annotations.OfType<EndpointAnnotation>()).Where(IsOtlp))
                {
                    endpoint.IsProxied = false;
                }

                return Task.CompletedTask;
            });
            return Task.CompletedTask;
        }
    }
}
