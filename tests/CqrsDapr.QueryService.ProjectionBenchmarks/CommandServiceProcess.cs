using System.Diagnostics;
using System.Globalization;
using CqrsDapr.Contracts;
using CqrsDapr.TestSupport;

namespace CqrsDapr.QueryService.ProjectionBenchmarks;

/// <summary>
/// The real command service as a child process (<c>dotnet CqrsDapr.CommandService.dll</c>, its Release build next to this
/// program's), configured only through environment variables as in a container, with its own sidecar (app-id
/// <c>command-service</c>) registered in the emulator's app registry shared with the query service's sidecar. Only its
/// event-log endpoint is used; its relay finds nothing to publish (every seeded row is published already) and idles.
/// </summary>
internal sealed class CommandServiceProcess : IAsyncDisposable
{
    private const string ProjectName = "CqrsDapr.CommandService";
    private const string ConnectionVariable = "ConnectionStrings__writedb"; // PersistenceModule.ConnectionName

    private readonly Sidecar sidecar;
    private readonly ChildProcess process;

    private CommandServiceProcess(Sidecar sidecar, ChildProcess process, int port)
    {
        this.sidecar = sidecar;
        this.process = process;
        Port = port;
    }

    /// <summary>The app's own HTTP port (Kestrel), for reading the log without any sidecar.</summary>
    public int Port { get; }

    public Sidecar Sidecar => sidecar;

    public int ProcessId => process.Id;

    /// <summary>Creates the write schema as the Helm hook job does: <c>dotnet CqrsDapr.CommandService.dll migrate</c>.</summary>
    public static Task MigrateAsync(string writeDb) =>
        ChildProcess.RunAsync("command-service migrate", StartInfo(writeDb, port: null, sidecar: null, "migrate"), TimeSpan.FromMinutes(2));

    /// <summary>Starts the sidecar (actorstore on the write database, in-memory pub/sub), then the app; returns once both answer.</summary>
    public static async Task<CommandServiceProcess> StartAsync(string writeDb, string registry, string resources)
    {
        new Resources(resources)
            .PostgresState(DaprNames.ActorStore, writeDb, actorStateStore: true, tableName: "dapr_actor_state", extra: new Dictionary<string, string> { ["metadataTableName"] = "dapr_actor_metadata" })
            .Component(DaprNames.PubSub, "pubsub.in-memory");

        var port = FreePort.Next();
        var sidecar = await Sidecar.StartAsync(new SidecarOptions
        {
            AppId = DaprNames.CommandService,
            AppPort = port,
            ResourcesPaths = [resources],
            LogLevel = "warn",
            Environment = { ["CQRSDAPR_EMULATOR_REGISTRY"] = registry },
        });
        ChildProcess? process = null;
        try
        {
            process = ChildProcess.Start($"command-service :{port}", StartInfo(writeDb, port, sidecar));
            var service = new CommandServiceProcess(sidecar, process, port);
            await service.WaitUntilAliveAsync();
            return service;
        }
        catch
        {
            if (process is not null)
            {
                await process.DisposeAsync();
            }

            await sidecar.DisposeAsync();
            throw;
        }
    }

    public string LogTail(int lines = 40) => process.LogTail(lines);

    public async ValueTask DisposeAsync()
    {
        await process.StopAsync(TimeSpan.FromSeconds(5));
        await process.DisposeAsync();
        await sidecar.DisposeAsync();
    }

    private async Task WaitUntilAliveAsync()
    {
        using var http = new HttpClient { BaseAddress = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{Port}")) };
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The command service exited with {process.ExitCode}:\n{process.LogTail()}");
            }

            try
            {
                using var alive = await http.GetAsync(new Uri("/alive", UriKind.Relative));
                if (alive.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"The command service never answered /alive:\n{process.LogTail()}");
    }

    private static ProcessStartInfo StartInfo(string writeDb, int? port, Sidecar? sidecar, params string[] arguments)
    {
        var dll = RepositoryPaths.ProjectOutput(ProjectName);
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"The command service was not built at {dll}: build this project in {RepositoryPaths.Configuration} first.");
        }

        // Content root = working directory: the service reads the appsettings.json next to its dll.
        var startInfo = new ProcessStartInfo(DotnetHost()) { WorkingDirectory = Path.GetDirectoryName(dll)! };
        startInfo.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var inherited in new[] { "DAPR_API_TOKEN", "APP_API_TOKEN", "OTEL_EXPORTER_OTLP_ENDPOINT", "ASPNETCORE_URLS", "DAPR_HTTP_PORT", "DAPR_GRPC_PORT" })
        {
            startInfo.Environment.Remove(inherited);
        }

        startInfo.Environment[ConnectionVariable] = writeDb;
        startInfo.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        startInfo.Environment["Logging__LogLevel__Default"] = "Warning";
        if (port is { } p)
        {
            startInfo.Environment["ASPNETCORE_URLS"] = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{p}");
        }

        if (sidecar is not null)
        {
            startInfo.Environment["DAPR_HTTP_ENDPOINT"] = sidecar.HttpEndpoint;
            startInfo.Environment["DAPR_GRPC_ENDPOINT"] = sidecar.GrpcEndpoint;
        }

        return startInfo;
    }

    /// <summary>The dotnet host running this program (as the sidecar helper finds it for the emulator).</summary>
    private static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath))
        {
            return hostPath;
        }

        if (Environment.ProcessPath is { } processPath && Path.GetFileNameWithoutExtension(processPath).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return processPath;
        }

        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, "dotnet"))
            .FirstOrDefault(File.Exists);
        return onPath ?? "dotnet";
    }
}
