using Grpc.Net.Client;

namespace CqrsDapr.ServiceDefaults;

/// <summary>
/// The handlers a service talks to its own Dapr sidecar through, the same in every service: plain HTTP on a bounded
/// pool of kept-alive connections, and gRPC on one HTTP/2 connection. The sidecar's address never moves (loopback, the
/// pod), so connections have no lifetime, only an idle timeout.
/// </summary>
public static class SidecarHandlers
{
    /// <summary>
    /// An idle connection is closed after 2 minutes: before the emulator's server would (Kestrel's keep-alive timeout,
    /// 130 s) and before daprd's gRPC server sends GOAWAY (3 minutes idle), so a call never races the sidecar closing
    /// the connection under it.
    /// </summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(2);

    /// <summary>The sidecar is on this host: a connection that takes longer than 5 s to open means it is not there.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    /// <summary>HTTP/1.1 to the sidecar on at most <paramref name="maxConnections"/> kept-alive connections; a call beyond them waits for one.</summary>
    public static SocketsHttpHandler Pooled(int maxConnections) => new()
    {
        MaxConnectionsPerServer = maxConnections,
        PooledConnectionIdleTimeout = IdleTimeout,
        ConnectTimeout = ConnectTimeout,
        UseProxy = false,
        AllowAutoRedirect = false,
        UseCookies = false,
    };

    /// <summary>
    /// The DaprClient's gRPC channel: one HTTP/2 connection carrying every call at once (daprd sets no stream limit; the
    /// emulator allows 100 streams, beyond which calls wait for a free one instead of opening a second connection, as
    /// the SDK's default handler would). No client keep-alive pings: daprd pings idle connections itself every 10 s and
    /// closes a connection whose client pings more often than every 8 s. <paramref name="outer"/>, if given, handles
    /// every call before it reaches the connection (a deadline, say).
    /// </summary>
    public static GrpcChannelOptions GrpcChannel(DelegatingHandler? outer = null)
    {
        var connection = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = false,
            PooledConnectionIdleTimeout = IdleTimeout,
            ConnectTimeout = ConnectTimeout,
            UseProxy = false,
        };
        if (outer is not null)
        {
            outer.InnerHandler = connection;
        }

        return new GrpcChannelOptions
        {
            HttpHandler = outer ?? (HttpMessageHandler)connection,
            DisposeHttpClient = true,
            // What the SDK's own channel options set: a cancelled call throws OperationCanceledException, not RpcException.
            ThrowOperationCanceledOnCancellation = true,
        };
    }
}
