using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace CqrsDapr.Gateway.Clients;

/// <summary>
/// Who the client is. Behind an ingress or load balancer every connection comes from the proxy, so per-client rate
/// limits and the X-Forwarded-For sent to the services would name the proxy; the client address it reports is taken
/// only from the proxies listed in <c>Gateway:TrustedProxies</c> (addresses or CIDR networks). With none listed, a
/// client's X-Forwarded-* headers are ignored and replaced.
/// </summary>
internal static class TrustedProxies
{
    public static IServiceCollection AddTrustedProxies(this IServiceCollection services)
    {
        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<GatewayOptions>>((forwarded, gateway) =>
        {
            // The framework trusts loopback by default; only what is configured is trusted here.
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            forwarded.ForwardLimit = 1;
            var trusted = gateway.Value.TrustedProxies;
            forwarded.ForwardedHeaders = trusted.Length == 0
                ? ForwardedHeaders.None
                : ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            foreach (var entry in trusted)
            {
                if (entry.Contains('/', StringComparison.Ordinal))
                {
                    forwarded.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(entry));
                }
                else
                {
                    forwarded.KnownProxies.Add(IPAddress.Parse(entry));
                }
            }
        });
        return services;
    }

    public static bool IsValid(string entry) =>
        entry.Contains('/', StringComparison.Ordinal)
            ? System.Net.IPNetwork.TryParse(entry, out _)
            : IPAddress.TryParse(entry, out _);
}
