using CqrsDapr.ServiceDefaults;
using Grpc.Net.Client;

namespace CqrsDapr.QueryService.DaprSidecar;

/// <summary>
/// The connections to this app's own Dapr sidecar, reused and bounded: the DaprClient's gRPC calls (every query's state
/// reads, the projection's reads and writes) on one HTTP/2 connection, each with a deadline
/// (<see cref="SidecarCallDeadline"/>); the view store's bulk saves over HTTP/1.1 on at most
/// <see cref="SidecarOptions.MaxConnections"/> keep-alive connections.
/// </summary>
internal static class SidecarConnections
{
    /// <summary>The DaprClient's channel (<see cref="SidecarHandlers.GrpcChannel"/>), every call under <see cref="SidecarOptions.CallTimeout"/>.</summary>
    public static GrpcChannelOptions GrpcChannelOptions(SidecarOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return SidecarHandlers.GrpcChannel(new SidecarCallDeadline(options.CallTimeout));
    }

    /// <summary>Plain HTTP to the sidecar (bulk saves): at most <see cref="SidecarOptions.MaxConnections"/> kept-alive connections, each call under <see cref="SidecarOptions.CallTimeout"/>.</summary>
    public static HttpClient HttpClient(SidecarOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new HttpClient(SidecarHandlers.Pooled(options.MaxConnections)) { Timeout = options.CallTimeout };
    }
}
