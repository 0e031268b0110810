using Dapr.Client;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CqrsDapr.CommandService.Outbox;

internal static class OutboxModule
{
    /// <summary>
    /// The outbox relay (a hosted service) with its options (section <c>Outbox</c>, validated on start), metrics,
    /// retention and the Dapr publisher. Needs the write database (<c>AddWriteDatabase</c>).
    /// </summary>
    public static IServiceCollection AddOutbox(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<OutboxOptions>().Bind(configuration.GetSection(OutboxOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OutboxOptions>, OutboxOptionsValidator>());
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        if (!services.Any(d => d.ServiceType == typeof(DaprClient)))
        {
            services.AddDaprClient();
        }

        services.TryAddSingleton<IOutboxPublisher, DaprOutboxPublisher>();
        services.TryAddSingleton<OutboxMetrics>();
        services.TryAddSingleton<OutboxRetention>();
        services.AddSingleton<OutboxRelay>();
        services.AddHostedService(provider => provider.GetRequiredService<OutboxRelay>());
        return services;
    }
}
