using System.Net;
using System.Net.Sockets;
using CqrsDapr.DaprEmulator.Hosting;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.DaprEmulator.AppChannel;

/// <summary>
/// The sidecar's HTTP channel to the app (daprd 1.16 <c>pkg/channel/http</c>): every call carries
/// <c>dapr-api-token</c> when <c>APP_API_TOKEN</c> is set, and is bounded by <c>--app-max-concurrency</c>.
/// </summary>
internal sealed partial class AppChannel : IDisposable
{
    public const string ApiTokenHeader = "dapr-api-token";

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
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            ConnectTimeout = TimeSpan.FromSeconds(5),
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

    /// <summary>Sends a request to the app; the caller disposes the response.</summary>
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
            await concurrency.WaitAsync(cancellationToken);
        }

        try
        {
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

    private static string FormatHost(string address) =>
        IPAddress.TryParse(address, out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address;

    [LoggerMessage(Level = LogLevel.Information, Message = "Waiting for the application to listen on port {Port}")]
    private static partial void LogWaiting(ILogger logger, int port);
}
