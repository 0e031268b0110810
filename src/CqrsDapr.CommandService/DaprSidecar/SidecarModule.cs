using Dapr.Client;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CqrsDapr.CommandService.DaprSidecar;

internal static class SidecarModule
{
    /// <summary>
    /// The sidecar's settings (section <c>Sidecar</c>, validated on start), its connections
    /// (<see cref="SidecarConnections"/>) and, unless one is registered already, the <see cref="DaprClient"/> on them.
    /// Safe to call from every module that talks to the sidecar.
    /// </summary>
    public static IServiceCollection AddSidecarConnections(this IServiceCollection services, IConfiguration configuration)
    {
        if (services.Any(d => d.ServiceType == typeof(SidecarConnections)))
        {
            return services;
        }

        services.AddOptions<SidecarOptions>().Bind(configuration.GetSection(SidecarOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SidecarOptions>, SidecarOptionsValidator>());
        services.AddSingleton<SidecarConnections>();
        if (!services.Any(d => d.ServiceType == typeof(DaprClient)))
        {
            services.AddDaprClient(client => client.UseGrpcChannelOptions(SidecarConnections.GrpcChannelOptions()));
        }

        return services;
    }
}
