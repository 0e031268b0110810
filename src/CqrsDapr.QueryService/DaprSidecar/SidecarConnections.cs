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
    /// <summary>
    /// An idle connection is closed after 2 minutes: before the emulator's server would (Kestrel's keep-alive timeout,
    /// 130 s) and before daprd's gRPC server sends GOAWAY (3 minutes idle), so a call never races the sidecar closing
    /// the connection under it. The sidecar's address never moves (loopback, the pod), so connections have no lifetime.
    /// </summary>
    internal static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(2);

    /// <summary>The sidecar is on this host: a connection that takes longer than 5 s to open means it is not there.</summary>
    internal static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The DaprClient's channel: one HTTP/2 connection carrying every call at once (daprd sets no stream limit; the
    /// emulator allows 100 streams, beyond which calls wait for a free one instead of opening a second connection, as
    /// the SDK's default handler would). No client keep-alive pings: daprd pings idle connections itself every 10 s and
    /// closes a connection whose client pings more often than every 8 s.
    /// </summary>
    public static GrpcChannelOptions GrpcChannelOptions(SidecarOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new GrpcChannelOptions
        {
            HttpHandler = new SidecarCallDeadline(options.CallTimeout)
            {
                InnerHandler = new SocketsHttpHandler
                {
                    EnableMultipleHttp2Connections = false,
                    PooledConnectionIdleTimeout = IdleTimeout,
                    ConnectTimeout = ConnectTimeout,
                    UseProxy = false,
                },
            },
            DisposeHttpClient = true,
            // What the SDK's own channel options set: a cancelled call throws OperationCanceledException, not RpcException.
            ThrowOperationCanceledOnCancellation = true,
        };
    }

    /// <summary>Plain HTTP to the sidecar (bulk saves): at most <see cref="SidecarOptions.MaxConnections"/> kept-alive connections, each call under <see cref="SidecarOptions.CallTimeout"/>.</summary>
    public static HttpClient HttpClient(SidecarOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = options.MaxConnections,
            PooledConnectionIdleTimeout = IdleTimeout,
            ConnectTimeout = ConnectTimeout,
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
        };
        return new HttpClient(handler) { Timeout = options.CallTimeout };
    }
}
