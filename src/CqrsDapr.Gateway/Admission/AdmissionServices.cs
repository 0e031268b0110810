using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Configuration;

namespace CqrsDapr.Gateway.Admission;

/// <summary>Registers the admission control, the backend connection limits and Kestrel's client connection limit.</summary>
internal static class AdmissionServices
{
    /// <summary>The key of the clock the refusal reports use (a test replaces it to control their interval).</summary>
    public const string ClockKey = "admission";

    public static IServiceCollection AddAdmission(this IServiceCollection services)
    {
        services.TryAddKeyedSingleton(ClockKey, TimeProvider.System);
        services.AddSingleton<AdmissionGates>();
        services.AddSingleton<AdmissionMetrics>();
        services.AddSingleton<IProxyConfigFilter, BackendConnectionLimit>();

        // Kestrel does not bind its limits from configuration by itself; the one that matters here is a gateway setting,
        // validated with the others (see AdmissionSettings.MaxClientConnections for the descriptor budget).
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<GatewayOptions>>((kestrel, gateway) =>
            kestrel.Limits.MaxConcurrentConnections = gateway.Value.Admission.MaxClientConnections);
        return services;
    }
}
