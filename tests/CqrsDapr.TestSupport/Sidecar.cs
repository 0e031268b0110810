using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace CqrsDapr.TestSupport;

/// <summary>
/// A Dapr sidecar for one app on free ports: the real <c>daprd</c> when installed, otherwise the repository's
/// emulator (<c>dotnet CqrsDapr.DaprEmulator.dll</c>, which takes the same flags).
/// </summary>
/// <remarks>
/// daprd is found via <c>DAPR_RUNTIME_PATH</c> (the binary, or a directory holding it or <c>bin/daprd</c>), PATH, or
/// <c>~/.dapr/bin/daprd</c>. Set <c>CQRSDAPR_TEST_SIDECAR</c> to <c>emulator</c> or <c>daprd</c> to force a kind.
/// </remarks>
public sealed class Sidecar : IAsyncDisposable
{
    /// <summary><see cref="Kind"/> of the real Dapr runtime.</summary>
    public const string DaprdKind = "daprd";

    /// <summary><see cref="Kind"/> of the repository's emulator.</summary>
    public const string EmulatorKind = "emulator";

    /// <summary>Environment variable forcing <see cref="DaprdKind"/> or <see cref="EmulatorKind"/>.</summary>
    public const string KindVariable = "CQRSDAPR_TEST_SIDECAR";

    private const string EmulatorProject = "CqrsDapr.DaprEmulator";

    // Readiness probes only; no connection reuse across sidecars matters here.
    private static readonly HttpClient Probe = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = Timeout.InfiniteTimeSpan };

    private readonly SidecarOptions options;
    private readonly ServerProcess server;
    private int metricsPort;

    private Sidecar(SidecarOptions options, string kind, string fileName, IReadOnlyList<string> leadingArguments)
    {
        this.options = options;
        Kind = kind;
        server = new ServerProcess(
            $"{kind} ({options.AppId})",
            pickPorts: () =>
            {
                HttpPort = FreePort.Next();
                GrpcPort = FreePort.Next();
                metricsPort = FreePort.Next();
            },
            launch: () => ChildProcess.Start($"{kind} {options.AppId} :{HttpPort}", StartInfo(fileName, leadingArguments)),
            probe: IsHealthyAsync);
    }

    /// <summary>The app id.</summary>
    public string AppId => options.AppId;

    /// <summary><see cref="DaprdKind"/> ("daprd") or <see cref="EmulatorKind"/> ("emulator").</summary>
    public string Kind { get; }

    /// <summary>The Dapr HTTP API port (<c>--dapr-http-port</c>).</summary>
    public int HttpPort { get; private set; }

    /// <summary>The Dapr gRPC API port (<c>--dapr-grpc-port</c>).</summary>
    public int GrpcPort { get; private set; }

    /// <summary><c>http://127.0.0.1:{HttpPort}</c>.</summary>
    public string HttpEndpoint => Endpoint(HttpPort);

    /// <summary><c>http://127.0.0.1:{GrpcPort}</c>.</summary>
    public string GrpcEndpoint => Endpoint(GrpcPort);

    /// <summary>A snapshot of the sidecar's stdout/stderr lines (of the current or last run).</summary>
    public IReadOnlyList<string> Logs => server.Logs;

    /// <summary>The sidecar's OS process id while it runs (for memory and CPU readings).</summary>
    public int? ProcessId => server.ProcessId;

    /// <summary>The last <paramref name="lines"/> log lines, joined with newlines.</summary>
    public string LogTail(int lines = 40) => server.LogTail(lines);

    /// <summary>Starts the sidecar; returns once <c>/v1.0/healthz/outbound</c> answers 204.</summary>
    public static async Task<Sidecar> StartAsync(SidecarOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.AppId);

        var (kind, fileName, leadingArguments) = ResolveRuntime();
        var sidecar = new Sidecar(options, kind, fileName, leadingArguments);
        try
        {
            await sidecar.server.StartAsync(cancellationToken);
            return sidecar;
        }
        catch
        {
            await sidecar.DisposeAsync();
            throw;
        }
    }

    /// <summary>Graceful shutdown (SIGTERM), killed after a 5 s grace period.</summary>
    public Task StopAsync() => server.StopAsync();

    /// <summary>Kills the sidecar at once (SIGKILL: a crash).</summary>
    public Task KillAsync() => server.KillAsync();

    /// <summary>Starts the sidecar again on the same ports; kills it first if running.</summary>
    public Task RestartAsync(CancellationToken cancellationToken = default) => server.RestartAsync(cancellationToken);

    /// <summary>Same as <see cref="StopAsync"/>.</summary>
    public ValueTask DisposeAsync() => server.DisposeAsync();

    private static string Endpoint(int port) => string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}");

    private ProcessStartInfo StartInfo(string fileName, IReadOnlyList<string> leadingArguments)
    {
        var arguments = new List<string>(leadingArguments)
        {
            "--app-id", options.AppId,
            "--dapr-http-port", HttpPort.ToString(CultureInfo.InvariantCulture),
            "--dapr-grpc-port", GrpcPort.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var resourcesPath in options.ResourcesPaths)
        {
            arguments.AddRange(["--resources-path", resourcesPath]);
        }

        if (options.AppPort is { } appPort)
        {
            arguments.AddRange(["--app-port", appPort.ToString(CultureInfo.InvariantCulture), "--app-protocol", "http"]);
        }

        if (options.ConfigPath is { } configPath)
        {
            arguments.AddRange(["--config", configPath]);
        }

        arguments.AddRange(["--log-level", options.LogLevel]);
        if (Kind == DaprdKind)
        {
            // daprd's metrics server defaults to the fixed port 9090.
            arguments.AddRange(["--metrics-port", metricsPort.ToString(CultureInfo.InvariantCulture)]);
        }

        var startInfo = Executables.Command(fileName, arguments);
        SetOrRemove(startInfo, "DAPR_API_TOKEN", options.ApiToken);
        SetOrRemove(startInfo, "APP_API_TOKEN", options.AppApiToken);
        foreach (var (key, value) in options.Environment)
        {
            startInfo.Environment[key] = value;
        }

        return startInfo;
    }

    private static void SetOrRemove(ProcessStartInfo startInfo, string key, string? value)
    {
        if (value is null)
        {
            startInfo.Environment.Remove(key); // Never inherit a token from the test process.
        }
        else
        {
            startInfo.Environment[key] = value;
        }
    }

    private async Task<bool> IsHealthyAsync(CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"{HttpEndpoint}/v1.0/healthz/outbound"));
        if (options.ApiToken is { } token)
        {
            request.Headers.Add("dapr-api-token", token);
        }

        using var response = await Probe.SendAsync(request, cancellationToken);
        return response.StatusCode == HttpStatusCode.NoContent;
    }

    private static (string Kind, string FileName, IReadOnlyList<string> LeadingArguments) ResolveRuntime()
    {
        var forced = Environment.GetEnvironmentVariable(KindVariable);
        if (!string.Equals(forced, EmulatorKind, StringComparison.OrdinalIgnoreCase))
        {
            if (FindDaprd() is { } daprd)
            {
                return (DaprdKind, daprd, []);
            }

            if (string.Equals(forced, DaprdKind, StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException(
                    $"{KindVariable}=daprd but daprd was not found (DAPR_RUNTIME_PATH, PATH, ~/.dapr/bin/daprd).");
            }
        }

        var emulator = RepositoryPaths.ProjectOutput(EmulatorProject);
        if (!File.Exists(emulator))
        {
            throw new InvalidOperationException(
                $"daprd is not installed and the Dapr emulator was not found at {emulator}: build the solution first " +
                $"(dotnet build -c {RepositoryPaths.Configuration}).");
        }

        return (EmulatorKind, DotnetHost(), [emulator]);
    }

    private static string? FindDaprd()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("DAPR_RUNTIME_PATH") is { Length: > 0 } runtimePath)
        {
            candidates.AddRange([
                runtimePath,
                Path.Combine(runtimePath, "daprd"),
                Path.Combine(runtimePath, "bin", "daprd"),
                Path.Combine(runtimePath, ".dapr", "bin", "daprd"),
            ]);
        }

        if (Executables.FindOnPath("daprd") is { } onPath)
        {
            candidates.Add(onPath);
        }

        candidates.Add(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dapr", "bin", "daprd"));
        return candidates.FirstOrDefault(Executables.IsExecutableFile);
    }

    private static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath))
        {
            return hostPath;
        }

        if (Environment.ProcessPath is { } processPath
            && Path.GetFileNameWithoutExtension(processPath).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return processPath;
        }

        return Executables.FindOnPath("dotnet") ?? "dotnet";
    }
}
