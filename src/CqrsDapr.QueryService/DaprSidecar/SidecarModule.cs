using Dapr.Client;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CqrsDapr.QueryService.DaprSidecar;

internal static class SidecarModule
{
    /// <summary>
    /// The sidecar's settings (section <c>Sidecar</c>, validated on start) and the <see cref="DaprClient"/> on bounded,
    /// reused connections with a deadline per call (<see cref="SidecarConnections"/>).
    /// </summary>
    public static IServiceCollection AddSidecarConnections(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SidecarOptions>().Bind(configuration.GetSection(SidecarOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SidecarOptions>, SidecarOptionsValidator>());
        services.AddDaprClient((provider, client) =>
            client.UseGrpcChannelOptions(SidecarConnections.GrpcChannelOptions(provider.GetRequiredService<IOptions<SidecarOptions>>().Value)));
        return services;
    }
}
