using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.Options;

namespace CqrsDapr.Gateway.Cors;

/// <summary>The browser-facing CORS policy. The CORS middleware answers preflights itself, so none is forwarded.</summary>
internal static class GatewayCors
{
    public const string PolicyName = "gateway";

    public static IServiceCollection AddGatewayCors(this IServiceCollection services)
    {
        services.AddCors();
        services.AddOptions<CorsOptions>()
            .Configure<IOptions<GatewayOptions>>((cors, gateway) => cors.AddPolicy(PolicyName, Build(gateway.Value.Cors)));
        return services;
    }

    private static CorsPolicy Build(CorsSettings settings) =>
        new CorsPolicyBuilder()
            .WithOrigins(settings.AllowedOrigins)
            .WithMethods(OrDefault(settings.AllowedMethods, CorsSettings.DefaultMethods))
            .WithHeaders(OrDefault(settings.AllowedHeaders, CorsSettings.DefaultHeaders))
            .WithExposedHeaders(OrDefault(settings.ExposedHeaders, CorsSettings.DefaultExposedHeaders))
            .SetPreflightMaxAge(TimeSpan.FromSeconds(settings.PreflightMaxAgeSeconds))
            .Build();

    private static string[] OrDefault(string[] configured, string[] defaults) => configured.Length > 0 ? configured : defaults;
}
