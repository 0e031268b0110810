using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CqrsDapr.CommandService.Idempotency;

internal static class IdempotencyModule
{
    /// <summary>
    /// <c>Idempotency-Key</c> support: the record lookup, its options (section <c>Idempotency</c>, validated on start),
    /// metrics and the retention sweep (a hosted service). Needs the write database (<c>AddWriteDatabase</c>).
    /// </summary>
    public static IServiceCollection AddIdempotency(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<IdempotencyOptions>().Bind(configuration.GetSection(IdempotencyOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IdempotencyOptions>, IdempotencyOptionsValidator>());
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IdempotencyKeys>();
        services.TryAddSingleton<IdempotencyMetrics>();
        services.AddHostedService<IdempotencyRetention>();
        return services;
    }
}
