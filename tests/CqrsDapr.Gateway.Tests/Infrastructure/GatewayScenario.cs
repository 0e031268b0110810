using System.Net;
using System.Net.Sockets;
using System.Text;
using CqrsDapr.TestSupport;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.Gateway.Tests.Infrastructure;

/// <summary>
/// The real gateway (its Program and appsettings.json) on Kestrel, with two fake services behind it. Only the
/// service addresses are given, the way Aspire or Kubernetes would: <c>Services:{name}:http:0</c>, resolved by
/// service discovery from the <c>http://query-service</c> and <c>http://command-service</c> destinations.
/// </summary>
public sealed class GatewayScenario : IAsyncDisposable
{
    public const string AllowedOrigin = "https://shop.example";

    private readonly GatewayFactory factory;

    private GatewayScenario(GatewayFactory factory, FakeService query, FakeService? command, int port, CapturedLogs logs)
    {
        Logs = logs;
        this.factory = factory;
        Query = query;
        CommandOrNull = command;
        Port = port;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
    }

    public FakeService Query { get; }

    public FakeService Command => CommandOrNull ?? throw new InvalidOperationException("The command service is down in this scenario.");

    public HttpClient Http { get; }

    public int Port { get; }

    /// <summary>The gateway's services (its options, limiters, meter factory).</summary>
    public IServiceProvider Services => factory.Services;

    /// <summary>Everything the gateway logged (at every level, including the framework's and YARP's).</summary>
    public CapturedLogs Logs { get; }

    private FakeService? CommandOrNull { get; }

    /// <summary>Every request either fake service received.</summary>
    public int ForwardedCount => Query.Received.Count + (CommandOrNull?.Received.Count ?? 0);

    public static async Task<GatewayScenario> StartAsync(
        IReadOnlyDictionary<string, string?>? settings = null, bool commandServiceDown = false, Action<IServiceCollection>? services = null)
    {
        var query = await FakeService.StartAsync("query-service");
        var command = commandServiceDown ? null : await FakeService.StartAsync("command-service");
        var configuration = new Dictionary<string, string?>
        {
            ["Services:query-service:http:0"] = query.Address.ToString(),
            // Nothing listens on a fresh free port: the service is "down".
            ["Services:command-service:http:0"] = command?.Address.ToString() ?? $"http://127.0.0.1:{FreePort.Next()}/",
            ["Gateway:Cors:AllowedOrigins:0"] = AllowedOrigin,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            configuration[key] = value;
        }

        var port = FreePort.Next();
        var logs = new CapturedLogs();
        var factory = new GatewayFactory(configuration, logs, services);
        try
        {
            factory.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
            factory.StartServer();
        }
        catch
        {
            await factory.DisposeAsync();
            await query.DisposeAsync();
            if (command is not null)
            {
                await command.DisposeAsync();
            }

            throw;
        }

        return new GatewayScenario(factory, query, command, port, logs);
    }

    /// <summary>
    /// Sends a request exactly as written, bypassing HttpClient's URI normalisation (which would resolve dot segments
    /// and decode <c>%64</c> before the gateway ever saw them).
    /// </summary>
    public async Task<RawResponse> SendRawAsync(string method, string target, CancellationToken cancellationToken)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, Port, cancellationToken);
        await using var stream = tcp.GetStream();
        var request = $"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{Port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), cancellationToken);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(cancellationToken);
        return RawResponse.Parse(text);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await factory.DisposeAsync();
        await Query.DisposeAsync();
        if (CommandOrNull is not null)
        {
            await CommandOrNull.DisposeAsync();
        }
    }

    private sealed class GatewayFactory(IReadOnlyDictionary<string, string?> settings, CapturedLogs logs, Action<IServiceCollection>? services)
        : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment(Environments.Production);
            builder.ConfigureAppConfiguration(configuration => configuration.AddInMemoryCollection(settings));
            builder.ConfigureLogging(logging => logging
                .ClearProviders()
                .SetMinimumLevel(LogLevel.Trace)
                .AddFilter((_, _) => true)
                .AddProvider(logs));
            if (services is not null)
            {
                builder.ConfigureTestServices(services); // after the gateway's own registrations: these win
            }
        }
    }
}

/// <summary>Status line and headers of a raw HTTP/1.1 response.</summary>
public sealed record RawResponse(int StatusCode, IReadOnlyDictionary<string, string> Headers, string Body)
{
    public string? ContentType => Headers.TryGetValue("Content-Type", out var value) ? value : null;

    public static RawResponse Parse(string text)
    {
        var headerEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = headerEnd >= 0 ? text[..headerEnd] : text;
        var lines = head.Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = lines.Skip(1)
            .Select(line => line.Split(':', 2))
            .Where(parts => parts.Length == 2)
            .GroupBy(parts => parts[0].Trim(), StringComparer.OrdinalIgnoreCase)
            .ToDictionary(group => group.Key, group => group.First()[1].Trim(), StringComparer.OrdinalIgnoreCase);
        return new RawResponse(status, headers, headerEnd >= 0 ? text[(headerEnd + 4)..] : "");
    }
}
