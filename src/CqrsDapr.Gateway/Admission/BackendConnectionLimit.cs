using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Configuration;

namespace CqrsDapr.Gateway.Admission;

/// <summary>
/// Caps each side's cluster at as many connections per backend server as the side may have requests in flight
/// (<c>HttpClient.MaxConnectionsPerServer</c> = its <see cref="SideLimits.ConcurrencyLimit"/>), taken from the admission
/// settings so there is no second number to keep in sync. A smaller value configured on the cluster is kept.
/// </summary>
/// <remarks>
/// Without it the handler opens a new connection for every request in flight: under overload the gateway would use up
/// its file descriptors and the backends' connection slots long before the admission limit mattered. With it the
/// connections to a side never outnumber the requests the admission lets through, so they fit the descriptor budget
/// next to the client connections (<see cref="AdmissionSettings.MaxClientConnections"/>).
/// </remarks>
internal sealed class BackendConnectionLimit(IOptions<GatewayOptions> options) : IProxyConfigFilter
{
    public ValueTask<ClusterConfig> ConfigureClusterAsync(ClusterConfig cluster, CancellationToken cancel)
    {
        if (AdmissionSides.OfCluster(cluster.ClusterId) is not { } side)
        {
            return ValueTask.FromResult(cluster);
        }

        var limit = options.Value.Admission.For(side).ConcurrencyLimit;
        var http = cluster.HttpClient ?? new HttpClientConfig();
        return http.MaxConnectionsPerServer <= limit
            ? ValueTask.FromResult(cluster)
            : ValueTask.FromResult(cluster with { HttpClient = http with { MaxConnectionsPerServer = limit } });
    }

    public ValueTask<RouteConfig> ConfigureRouteAsync(RouteConfig route, ClusterConfig? cluster, CancellationToken cancel) =>
        ValueTask.FromResult(route);
}
