using CqrsDapr.ServiceDefaults;
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
    private readonly SocketsHttpHandler actorCalls;

    public SidecarConnections(IOptions<SidecarOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        actorCalls = SidecarHandlers.Pooled(options.Value.MaxConnections);
    }

    /// <summary>The handler every actor proxy sends through (HTTP/1.1, one connection per call in flight).</summary>
    public HttpMessageHandler ActorCalls => actorCalls;

    /// <summary>The DaprClient's gRPC channel, for the relay's publishes (<see cref="SidecarHandlers.GrpcChannel"/>).</summary>
    public static GrpcChannelOptions GrpcChannelOptions() => SidecarHandlers.GrpcChannel();

    public void Dispose() => actorCalls.Dispose();
}
