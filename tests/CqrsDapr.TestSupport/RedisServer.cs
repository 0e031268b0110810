using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace CqrsDapr.TestSupport;

/// <summary>
/// A throwaway Redis server (no persistence, free port) run as a child process,
/// or the server named by <c>CQRSDAPR_TEST_REDIS</c> (StackExchange.Redis form, e.g. <c>127.0.0.1:6379</c>) when set.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    /// <summary>Environment variable with the address of an existing server to use instead of starting one.</summary>
    public const string ExternalServerVariable = "CQRSDAPR_TEST_REDIS";

    private const string InstallHint = "apt-get install -y --no-upgrade redis-server";
    private static readonly byte[] Ping = "PING\r\n"u8.ToArray();

    private readonly ServerProcess? server;
    private readonly TempDirectory? directory;
    private readonly string? externalConnectionString;

    private RedisServer(string host, int port, string connectionString)
    {
        Host = host;
        Port = port;
        externalConnectionString = connectionString;
    }

    private RedisServer(string executable, TempDirectory directory)
    {
        Host = "127.0.0.1";
        this.directory = directory;
        server = new ServerProcess(
            "redis-server",
            pickPorts: () => Port = FreePort.Next(),
            launch: () => ChildProcess.Start(
                $"redis-server :{Port}",
                Executables.Command(
                    executable,
                    "--port", Port.ToString(CultureInfo.InvariantCulture),
                    "--bind", "127.0.0.1",
                    "--save", string.Empty,
                    "--appendonly", "no",
                    "--daemonize", "no",
                    "--dir", directory.Path)),
            probe: cancellationToken => PingAsync(Host, Port, cancellationToken));
    }

    /// <summary>Always 127.0.0.1 for a started server; the external server's host otherwise.</summary>
    public string Host { get; }

    /// <summary>The TCP port (kept across <see cref="RestartAsync"/>).</summary>
    public int Port { get; private set; }

    /// <summary>StackExchange.Redis configuration string, <c>127.0.0.1:port</c> for a started server.</summary>
    public string ConnectionString =>
        externalConnectionString ?? string.Create(CultureInfo.InvariantCulture, $"{Host}:{Port}");

    /// <summary>True when this instance points at an existing server from <see cref="ExternalServerVariable"/>.</summary>
    public bool IsExternal => server is null;

    /// <summary>The server's captured output (empty for an external server).</summary>
    public IReadOnlyList<string> Logs => server?.Logs ?? [];

    /// <summary>Starts a new server, or wraps the external one. Answers PING on return.</summary>
    public static async Task<RedisServer> StartAsync(CancellationToken cancellationToken = default)
    {
        var external = Environment.GetEnvironmentVariable(ExternalServerVariable);
        if (!string.IsNullOrWhiteSpace(external))
        {
            var (host, port) = ParseEndpoint(external);
            return new RedisServer(host, port, external);
        }

        var executable = Executables.FindOnPath("redis-server")
            ?? (Executables.IsExecutableFile("/usr/bin/redis-server") ? "/usr/bin/redis-server" : null)
            ?? throw new InvalidOperationException(
                $"redis-server was not found on PATH. Install it: {InstallHint} (or set {ExternalServerVariable} to an existing server).");

        var instance = new RedisServer(executable, TempDirectory.Create());
        try
        {
            await instance.server!.StartAsync(cancellationToken);
            return instance;
        }
        catch
        {
            await instance.DisposeAsync();
            throw;
        }
    }

    /// <summary>Kills the server (SIGKILL: a crash as far as clients can tell). All data is lost (no persistence).</summary>
    public Task StopAsync() => Managed().KillAsync();

    /// <summary>Starts the server again, empty, on the same port; kills it first if running.</summary>
    public Task RestartAsync(CancellationToken cancellationToken = default) => Managed().RestartAsync(cancellationToken);

    /// <summary>Shuts the server down and deletes its directory. Does nothing for an external server.</summary>
    public async ValueTask DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }

        directory?.Dispose();
    }

    /// <summary>Sends <c>PING</c> over a raw TCP connection; true when the answer is <c>+PONG</c>.</summary>
    internal static async Task<bool> PingAsync(string host, int port, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(host, port, cancellationToken);
        var stream = client.GetStream();
        await stream.WriteAsync(Ping, cancellationToken);
        var buffer = new byte[64];
        var read = 0;
        while (read < 7)
        {
            var count = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken);
            if (count == 0)
            {
                break;
            }

            read += count;
        }

        return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
    }

    private ServerProcess Managed() => server ?? throw new NotSupportedException(
        $"Stopping or restarting an external Redis server ({ExternalServerVariable}) is not supported.");

    /// <summary>First endpoint of a StackExchange.Redis configuration string: <c>host[:port][,option=value...]</c>.</summary>
    private static (string Host, int Port) ParseEndpoint(string configuration)
    {
        var endpoint = configuration.Split(',', 2)[0].Trim();
        var colon = endpoint.LastIndexOf(':');
        if (colon > 0 && !endpoint.EndsWith(']') && int.TryParse(endpoint.AsSpan(colon + 1), CultureInfo.InvariantCulture, out var port))
        {
            return (endpoint[..colon].Trim('[', ']'), port);
        }

        return (endpoint.Trim('[', ']'), 6379);
    }
}
