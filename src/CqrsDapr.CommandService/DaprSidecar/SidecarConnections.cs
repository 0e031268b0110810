using Grpc.Net.Client;
using Microsoft.Extensions.Options;

namespace CqrsDapr.CommandService.DaprSidecar;

/// <summary>
/// The connections to this app's own Dapr sidecar, reused and bounded: actor calls over HTTP/1.1 on at most
/// <see cref="SidecarOptions.MaxConnections"/> keep-alive connections (a command beyond them waits for one), and the
/// relay's publishes over gRPC on one HTTP/2 connection. Without this, the actors SDK's default handler opened a new
/// connection for every command in flight, without limit (710 of them from one replica under overload).
/// </summary>
/// <remarks>
/// The actors SDK takes the handler through its supported <see cref="Dapr.Actors.Client.ActorProxyFactory"/>
/// constructor and gives each proxy an <see cref="HttpClient"/> over it (never disposing it), so every proxy shares
/// this pool; <see cref="Dapr.Actors.Client.ActorProxyOptions.RequestTimeout"/> is each call's deadline.
/// </remarks>
internal sealed class SidecarConnections : IDisposable
{
    /// <summary>
    /// An idle connection is closed after 2 minutes: before the emulator's server would (Kestrel's keep-alive timeout,
    /// 130 s) and before daprd's gRPC server sends GOAWAY (3 minutes idle), so a call never races the sidecar closing
    /// the connection under it. The sidecar's address never moves (loopback, the pod), so connections have no lifetime.
    /// </summary>
    internal static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(2);

    /// <summary>The sidecar is on this host: a connection that takes longer than 5 s to open means it is not there.</summary>
    internal static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    private readonly SocketsHttpHandler actorCalls;

    public SidecarConnections(IOptions<SidecarOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        actorCalls = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = options.Value.MaxConnections,
            PooledConnectionIdleTimeout = IdleTimeout,
            ConnectTimeout = ConnectTimeout,
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
        };
    }

    /// <summary>The handler every actor proxy sends through (HTTP/1.1, one connection per call in flight).</summary>
    public HttpMessageHandler ActorCalls => actorCalls;

    /// <summary>
    /// The DaprClient's gRPC channel: one HTTP/2 connection that carries every call at once (daprd sets no stream limit;
    /// the emulator allows 100 streams, beyond which calls wait for a free one instead of opening a second connection,
    /// as the SDK's default handler would). No client keep-alive pings: daprd pings idle connections itself every 10 s
    /// and closes a connection whose client pings more often than every 8 s.
    /// </summary>
    public static GrpcChannelOptions GrpcChannelOptions() => new()
    {
        HttpHandler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = false,
            PooledConnectionIdleTimeout = IdleTimeout,
            ConnectTimeout = ConnectTimeout,
            UseProxy = false,
        },
        DisposeHttpClient = true,
        // What the SDK's own channel options set: a cancelled call throws OperationCanceledException, not RpcException.
        ThrowOperationCanceledOnCancellation = true,
    };

    public void Dispose() => actorCalls.Dispose();
}
