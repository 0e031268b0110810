using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.AppHost;

/// <summary>
/// The ports the AppHost listens on, each a <c>CqrsDapr:Ports:{name}</c> setting: the gateway (default 8080), the
/// dashboard (15080) and its OTLP endpoint (19080), and the servers' when set (allocated otherwise). At start, before
/// any process runs, every fixed one must be free: a taken port stops the start with what to change
/// (<see cref="PortsInUseException"/>; <see cref="RunAsync"/> prints it and exits with 1), rather than a resource
/// failing to bind halfway through the start, or Aspire's proxy (the dashboard's) not reporting a port another process
/// holds (the start looks fine and requests reach that process). The test harness's randomized ports
/// (<c>DcpPublisher:RandomizePorts</c>) move the dashboard's ports, which are then not checked; the resources' ports,
/// without a proxy (<see cref="DirectEndpoints"/>), stay where they are set, and are checked.
/// </summary>
internal sealed class AppHostPorts
{
    public const string Section = "CqrsDapr:Ports";
    public const int DefaultDashboardPort = 15080;
    public const int DefaultOtlpPort = 19080;

    private const string AspNetCoreUrls = "ASPNETCORE_URLS";
    private const string OtlpGrpcUrl = "ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL";
    private const string OtlpHttpUrl = "ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL";
    private const string ResourceServiceUrl = "ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL";
    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    private readonly IConfiguration configuration;
    private readonly List<FixedPort> resourcePorts = [];
    private readonly string otlpSetting;
    private volatile bool refused;

    private AppHostPorts(IConfiguration configuration, string otlpSetting)
    {
        this.configuration = configuration;
        this.otlpSetting = otlpSetting;
    }

    /// <summary>
    /// Applies the dashboard's settings (before anything reads Aspire's own keys) and checks the ports at start.
    /// <c>CqrsDapr:Ports:dashboard</c> sets <c>ASPNETCORE_URLS</c>, which the AppHost does not take from the
    /// environment (a variable meant for some other ASP.NET Core app would move the dashboard); 0 lets Aspire choose.
    /// <c>CqrsDapr:Ports:otlp</c> sets the OTLP/gRPC endpoint; unset, an endpoint given through Aspire's own
    /// <c>ASPIRE_DASHBOARD_OTLP_(HTTP_)ENDPOINT_URL</c> stays (the tests' harness sets one), else 19080.
    /// </summary>
    public static AppHostPorts Configure(IDistributedApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        var dashboard = Setting(configuration, "dashboard", allowZero: true) ?? DefaultDashboardPort;
        var settings = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            [AspNetCoreUrls] = dashboard == 0 ? "" : Url(dashboard),
        };
        var otlpSetting = OtlpGrpcUrl;
        if (Setting(configuration, "otlp", allowZero: false) is { } otlp)
        {
            settings[OtlpGrpcUrl] = Url(otlp);
            otlpSetting = $"{Section}:otlp";
        }
        else if (configuration.GetValue<string?>(OtlpGrpcUrl) is null && configuration.GetValue<string?>("DOTNET_DASHBOARD_OTLP_ENDPOINT_URL") is null
            && configuration.GetValue<string?>(OtlpHttpUrl) is null && configuration.GetValue<string?>("DOTNET_DASHBOARD_OTLP_HTTP_ENDPOINT_URL") is null)
        {
            settings[OtlpGrpcUrl] = Url(DefaultOtlpPort);
            otlpSetting = $"{Section}:otlp";
        }

        configuration.AddInMemoryCollection(settings);
        var ports = new AppHostPorts(configuration, otlpSetting);
        if (builder.ExecutionContext.IsRunMode)
        {
            // The first service the host starts: before the orchestrator (every process, the proxies on these ports)
            // and the dashboard. A failed host start is what the test harness reports, a failed BeforeStartEvent is not.
            builder.Services.Insert(0, ServiceDescriptor.Singleton<IHostedService>(services => new StartCheck(ports, services)));
            // Once refused, the host's "Hosting failed to start" and stack trace would only bury the reason.
            builder.Services.AddLogging(logging => logging.AddFilter(HostCategory, level => level >= LogLevel.Information && !ports.refused));
        }

        return ports;
    }

    /// <summary>
    /// <c>CqrsDapr:Ports:{name}</c> for a resource endpoint: the port, or null for one Aspire allocates (0, or unset
    /// without a <paramref name="fallback"/>). A fixed port is checked at start.
    /// </summary>
    public int? Port(string name, int? fallback = null)
    {
        var port = Setting(configuration, name, allowZero: true) ?? fallback;
        if (port is null or 0)
        {
            return null;
        }

        resourcePorts.Add(new FixedPort(port.Value, name, $"{Section}:{name}"));
        return port;
    }

    /// <summary>
    /// Runs the AppHost; a start refused for a taken port is its message on stderr and exit code 1, a run the
    /// orchestrator ended (<see cref="ResourceSupervisor"/>) exit code 3.
    /// </summary>
    public static async Task<int> RunAsync(DistributedApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        try
        {
            await app.RunAsync();
            return ResourceSupervisor.ExitCode(app.Services);
        }
        catch (PortsInUseException refused)
        {
            await Console.Error.WriteLineAsync(refused.Message);
            return 1;
        }
        catch (ProfileRefusedException refused)
        {
            await Console.Error.WriteLineAsync(refused.Message);
            return 1;
        }
    }

    /// <summary>The fixed ports of this start that another process holds.</summary>
    internal IReadOnlyList<FixedPort> TakenPorts(IServiceProvider services)
    {
        // The test harness moves every proxied endpoint to a free port: the dashboard's, not the resources'.
        var fixedPorts = new List<FixedPort>(resourcePorts);
        if (!services.GetRequiredService<DistributedApplicationOptions>().DisableDashboard && !configuration.GetValue<bool>("DcpPublisher:RandomizePorts"))
        {
            fixedPorts.AddRange(DashboardPorts());
        }

        return [.. fixedPorts.DistinctBy(p => (p.Port, p.Listener)).Where(p => IsTaken(p.Port))];
    }

    /// <summary>Refuses the start when a fixed port is taken; nothing else.</summary>
    private sealed class StartCheck(AppHostPorts ports, IServiceProvider services) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            var taken = ports.TakenPorts(services);
            if (taken.Count == 0)
            {
                return Task.CompletedTask;
            }

            ports.refused = true;
            throw new PortsInUseException(taken);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>The dashboard's fixed ports, named by the setting that chose them.</summary>
    private IEnumerable<FixedPort> DashboardPorts()
    {
        foreach (var url in (configuration[AspNetCoreUrls] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (FixedPortOf(url) is { } port)
            {
                yield return new FixedPort(port, "dashboard", $"{Section}:dashboard");
            }
        }

        var otlp = configuration[OtlpGrpcUrl] ?? configuration["DOTNET_DASHBOARD_OTLP_ENDPOINT_URL"];
        if (FixedPortOf(otlp) is { } otlpPort)
        {
            yield return new FixedPort(otlpPort, "dashboard's OTLP endpoint", otlpSetting);
        }

        if (FixedPortOf(configuration[OtlpHttpUrl] ?? configuration["DOTNET_DASHBOARD_OTLP_HTTP_ENDPOINT_URL"]) is { } otlpHttpPort)
        {
            yield return new FixedPort(otlpHttpPort, "dashboard's OTLP/HTTP endpoint", OtlpHttpUrl);
        }

        if (FixedPortOf(configuration[ResourceServiceUrl] ?? configuration["DOTNET_RESOURCE_SERVICE_ENDPOINT_URL"]) is { } resourceServicePort)
        {
            yield return new FixedPort(resourceServicePort, "dashboard's resource service", ResourceServiceUrl);
        }
    }

    private static int? FixedPortOf(string? url)
    {
        if (string.IsNullOrWhiteSpace(url))
        {
            return null;
        }

        // ASPNETCORE_URLS may hold wildcard hosts (http://+:15080), which Uri does not parse.
        var authority = url.Replace("://+", "://localhost", StringComparison.Ordinal).Replace("://*", "://localhost", StringComparison.Ordinal);
        return Uri.TryCreate(authority, UriKind.Absolute, out var uri) && uri.Port > 0 ? uri.Port : null;
    }

    private static int? Setting(IConfiguration configuration, string name, bool allowZero)
    {
        var key = $"{Section}:{name}";
        var text = configuration[key];
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var lowest = allowZero ? 0 : 1;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port >= lowest && port <= IPEndPoint.MaxPort
            ? port
            : throw new InvalidOperationException(
                $"{key} is '{text}': use a port from {lowest} to {IPEndPoint.MaxPort}{(allowZero ? " (0: any free port)" : "")}.");
    }

    private static string Url(int port) => string.Create(CultureInfo.InvariantCulture, $"http://localhost:{port}");

    /// <summary>
    /// Whether a process listens on <paramref name="port"/> of this machine's loopback: it accepts a connection, or a
    /// listener cannot bind there (a wildcard listener, or one on the other loopback family). A port in TIME_WAIT
    /// after a stopped run is free.
    /// </summary>
    internal static bool IsTaken(int port)
    {
        IPAddress[] loopbacks = Socket.OSSupportsIPv6 ? [IPAddress.Loopback, IPAddress.IPv6Loopback] : [IPAddress.Loopback];
        return loopbacks.Any(address => Accepts(address, port)) || loopbacks.Any(address => !CanListen(address, port));
    }

    private static bool Accepts(IPAddress address, int port)
    {
        using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // Loopback refuses a closed port at once; the timeout only bounds a listener that never accepts.
            return socket.ConnectAsync(address, port).Wait(TimeSpan.FromSeconds(1));
        }
        catch (AggregateException error) when (error.InnerException is SocketException)
        {
            return false;
        }
    }

    private static bool CanListen(IPAddress address, int port)
    {
        using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (!OperatingSystem.IsWindows())
        {
            // Linux: bind despite connections in TIME_WAIT, never beside a listener (Windows binds there by default).
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        }

        try
        {
            socket.Bind(new IPEndPoint(address, port));
            socket.Listen();
            return true;
        }
        catch (SocketException error) when (error.SocketErrorCode is SocketError.AddressAlreadyInUse)
        {
            return false;
        }
        catch (SocketException)
        {
            return true; // no such address here (IPv6 loopback disabled), or a privileged port: nothing else holds it
        }
    }
}

/// <summary>A port the AppHost needs fixed: who listens there and the setting that moves it.</summary>
internal sealed record FixedPort(int Port, string Listener, string Setting);

/// <summary>The start was refused: fixed ports the AppHost needs are in use by other processes.</summary>
internal sealed class PortsInUseException : Exception
{
    public PortsInUseException(IReadOnlyList<FixedPort> taken)
        : base(Describe(taken)) => Taken = taken;

    public PortsInUseException()
    {
        Taken = [];
    }

    public PortsInUseException(string message)
        : base(message)
    {
        Taken = [];
    }

    public PortsInUseException(string message, Exception innerException)
        : base(message, innerException)
    {
        Taken = [];
    }

    public IReadOnlyList<FixedPort> Taken { get; }

    private static string Describe(IReadOnlyList<FixedPort> taken)
    {
        var lines = taken.Select(p => string.Create(CultureInfo.InvariantCulture,
            $"  port {p.Port} ({p.Listener}) is in use by another process: stop it, or set {p.Setting} to another port"));
        var example = taken[0];
        var other = example.Port < IPEndPoint.MaxPort ? example.Port + 1 : example.Port - 1;
        var hint = example.Setting.StartsWith(AppHostPorts.Section, StringComparison.Ordinal)
            ? string.Create(CultureInfo.InvariantCulture,
                $"Settings go on the command line (dotnet run --project src/CqrsDapr.AppHost -- --{example.Setting}={other}) " +
                $"or in the environment ({example.Setting.Replace(":", "__", StringComparison.Ordinal)}={other}).")
            : "";
        return string.Join(Environment.NewLine,
        [
            "error: the AppHost did not start: ports it needs are taken.",
            .. lines,
            string.Create(CultureInfo.InvariantCulture,
                $"{hint} `ss -ltnp 'sport = :{example.Port}'` shows which process holds a port.").TrimStart(),
        ]);
    }
}
