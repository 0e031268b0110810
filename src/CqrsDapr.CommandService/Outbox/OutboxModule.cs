using CqrsDapr.CommandService.DaprSidecar;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace CqrsDapr.CommandService.Outbox;

internal static class OutboxModule
{
    /// <summary>
    /// The dispatch that publishes each event right after its commit (<see cref="ICommittedEvents"/>), the marking of
    /// what it published, and the outbox relay (hosted services) with their options (section <c>Outbox</c>, validated on start), metrics,
    /// retention, the Dapr publisher and the <c>outbox</c> health check (see <see cref="OutboxHealthCheck"/>; untagged,
    /// so on <c>/health</c> and not on <c>/alive</c>). Needs the write database (<c>AddWriteDatabase</c>).
    /// </summary>
    public static IServiceCollection AddOutbox(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<OutboxOptions>().Bind(configuration.GetSection(OutboxOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OutboxOptions>, OutboxOptionsValidator>());
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSidecarConnections(configuration); // the DaprClient the publisher sends through, unless one is registered

        services.TryAddSingleton<IOutboxPublisher, DaprOutboxPublisher>();
        services.TryAddSingleton<OutboxRowPublisher>();
        services.TryAddSingleton<OutboxPublishedMarks>();
        services.TryAddSingleton<ICommittedEvents, OutboxDispatch>();
        services.TryAddSingleton<OutboxMetrics>();
        services.TryAddSingleton<OutboxRetention>();
        services.TryAddSingleton<OutboxHeartbeat>();
        services.TryAddSingleton<OutboxHealthCheck>();
        services.AddHealthChecks();
        // Registered from the validated options so the check's own timeout is the configured one.
        services.AddOptions<HealthCheckServiceOptions>().Configure<IOptions<OutboxOptions>>((health, outbox) =>
            health.Registrations.Add(new HealthCheckRegistration(
                OutboxHealthCheck.Name,
                provider => provider.GetRequiredService<OutboxHealthCheck>(),
                HealthStatus.Unhealthy,
                tags: null,
                timeout: outbox.Value.HealthCheckTimeout)));
        services.AddSingleton<OutboxRelay>();
        services.AddHostedService(provider => provider.GetRequiredService<OutboxRelay>());
        services.AddHostedService(provider => provider.GetRequiredService<OutboxPublishedMarks>());
        return services;
    }
}
