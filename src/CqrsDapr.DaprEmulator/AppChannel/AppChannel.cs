using System.Net;
using System.Net.Sockets;
using CqrsDapr.DaprEmulator.Hosting;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.DaprEmulator.AppChannel;

/// <summary>
/// The sidecar's HTTP channel to the app (daprd 1.16 <c>pkg/channel/http/http_channel.go</c>, with the client of
/// <c>pkg/runtime/channels/channels.go appHTTPClient</c>): every call carries <c>dapr-api-token</c> when
/// <c>APP_API_TOKEN</c> is set, and is bounded by <c>--app-max-concurrency</c>.
/// </summary>
/// <remarks>
/// <para>
/// <c>--app-max-concurrency</c> bounds every call daprd makes through the channel's <c>InvokeMethod</c>: service
/// invocation, actor calls (after the actor's turn lock is taken), actor deactivations, pub/sub deliveries (single and
/// bulk), <c>/dapr/config</c> and <c>/dapr/subscribe</c>; one limit for all of them, health probes excepted. A call
/// over the limit <b>waits</b> for a slot, first come first served, for as long as it takes: it never fails for lack of
/// one. daprd takes the slot with a plain channel send (<c>h.ch &lt;- struct{}{}</c>) that does not watch the call's
/// context, so a caller that gives up (its client went away, a resiliency timeout fired) keeps its place in the queue
/// until a slot is free; it then finds its context done and leaves at once without reaching the app. Here the caller's
/// task ends as soon as it is cancelled (what daprd's resiliency runner and the caller's client see), while its place
/// is kept and given back the same way.
/// </para>
/// <para>
/// The HTTP client is daprd's: <c>http.DefaultTransport</c> cloned with <c>MaxConnsPerHost = 1024</c> (calls beyond
/// wait for a connection), keep-alive connections reused across calls and closed after 90 s idle, a 30 s dial timeout
/// and 30 s TCP keep-alive, HTTP/1.1, no redirects followed, no overall client timeout. One difference is left:
/// daprd also keeps at most 64 idle connections (<c>MaxIdleConnsPerHost</c>) and closes any connection that would be a
/// 65th idle one, while SocketsHttpHandler keeps every idle connection until its idle timeout. The two behave the same
/// as long as no more than 64 calls are in flight to the app, which an <c>--app-max-concurrency</c> of 64 or less
/// guarantees (the chart and the AppHost set it); above that daprd closes and reopens connections where the emulator
/// reuses them.
/// </para>
/// </remarks>
internal sealed partial class AppChannel : IDisposable
{
    public const string ApiTokenHeader = "dapr-api-token";

    /// <summary>daprd's <c>MaxConnsPerHost</c> for the app channel.</summary>
    internal const int MaxConnections = 1024;

    /// <summary><c>http.DefaultTransport</c>'s <c>IdleConnTimeout</c>.</summary>
    internal static readonly TimeSpan IdleConnectionTimeout = TimeSpan.FromSeconds(90);

    /// <summary><c>http.DefaultTransport</c>'s dialer: <c>Timeout</c> and <c>KeepAlive</c>.</summary>
    internal static readonly TimeSpan DialTimeout = TimeSpan.FromSeconds(30);

    private const int TcpKeepAliveSeconds = 30;

    private readonly EmulatorOptions options;
    private readonly ILogger logger;
    private readonly SemaphoreSlim? concurrency;
    private readonly HttpClient client;

    public AppChannel(EmulatorOptions options, ILogger<AppChannel> logger)
    {
        this.options = options;
        this.logger = logger;
        concurrency = options.AppMaxConcurrency > 0 ? new SemaphoreSlim(options.AppMaxConcurrency) : null;
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = MaxConnections,
            PooledConnectionIdleTimeout = IdleConnectionTimeout,
            ConnectTimeout = DialTimeout,
            ConnectCallback = ConnectWithKeepAliveAsync,
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
        };
        client = new HttpClient(handler)
        {
            BaseAddress = options.AppPort is { } port ? new Uri($"http://{FormatHost(options.AppChannelAddress)}:{port}/") : null,
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public bool Enabled => options.AppPort is not null;

    /// <summary>Waits until the app accepts TCP connections on its port, as daprd does before it reads the app's config.</summary>
    public async Task WaitForAppAsync(CancellationToken cancellationToken)
    {
        if (options.AppPort is not { } port)
        {
            return;
        }

        var logged = false;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                using var socket = new TcpClient();
                await socket.ConnectAsync(options.AppChannelAddress, port, cancellationToken);
                return;
            }
            catch (SocketException)
            {
                if (!logged)
                {
                    LogWaiting(logger, port);
                    logged = true;
                }

                await Task.Delay(50, cancellationToken);
            }
        }
    }

    /// <summary>Sends a request to the app (waiting for a slot under <c>--app-max-concurrency</c>); the caller disposes the response.</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!Enabled)
        {
            throw new InvalidOperationException("no app channel: the sidecar was started without --app-port");
        }

        if (options.AppApiToken is { } token)
        {
            request.Headers.TryAddWithoutValidation(ApiTokenHeader, token);
        }

        if (concurrency is not null)
        {
            await TakeSlotAsync(concurrency, cancellationToken);
        }

        try
        {
            // Go's client.Do on a context that is already done fails before sending: a caller that gave up while it
            // waited never reaches the app.
            cancellationToken.ThrowIfCancellationRequested();
            return await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        }
        finally
        {
            concurrency?.Release();
        }
    }

    public void Dispose()
    {
        client.Dispose();
        concurrency?.Dispose();
    }

    /// <summary>
    /// A place in the queue for a slot that is kept when the caller gives up (daprd 1.16's channel send ignores the
    /// context): the caller returns at once, and the slot it is eventually given is handed back unused.
    /// </summary>
    private static async Task TakeSlotAsync(SemaphoreSlim slots, CancellationToken cancellationToken)
    {
        var taken = slots.WaitAsync(CancellationToken.None);
        if (taken.IsCompleted)
        {
            return;
        }

        try
        {
            await taken.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            _ = taken.ContinueWith(static (_, state) => ((SemaphoreSlim)state!).Release(), slots, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw;
        }
    }

    /// <summary>Go's dialer: TCP keep-alive probes after 30 s idle, every 30 s (its <c>KeepAlive: 30 * time.Second</c>).</summary>
    private static async ValueTask<Stream> ConnectWithKeepAliveAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, TcpKeepAliveSeconds);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, TcpKeepAliveSeconds);
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static string FormatHost(string address) =>
        IPAddress.TryParse(address, out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address;

    [LoggerMessage(Level = LogLevel.Information, Message = "Waiting for the application to listen on port {Port}")]
    private static partial void LogWaiting(ILogger logger, int port);
}
