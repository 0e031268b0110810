using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CqrsDapr.Gateway.Limits;

/// <summary>Registers the per-client windows that <see cref="ClientRateLimiting"/> counts in.</summary>
internal static class ClientRateLimitingServices
{
    /// <summary>The key of the clock the windows read (a test replaces it to move time on).</summary>
    public const string ClockKey = "rate-limit";

    public static IServiceCollection AddClientRateLimiting(this IServiceCollection services)
    {
        services.TryAddKeyedSingleton(ClockKey, TimeProvider.System);
        services.AddSingleton(provider =>
        {
            var settings = provider.GetRequiredService<IOptions<GatewayOptions>>().Value.RateLimit;
            return new ClientWindows(
                settings.PermitLimit,
                TimeSpan.FromSeconds(settings.WindowSeconds),
                provider.GetRequiredKeyedService<TimeProvider>(ClockKey));
        });
        return services;
    }
}
