using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;

namespace CqrsDapr.EndToEnd.Tests;

/// <summary>
/// The AppHost run as a program, the way <c>dotnet run</c> starts it (its own process, DCP its child, the dashboard
/// on), with a data directory and ports of its own and its output captured line by line. Disposing stops it (SIGTERM,
/// then SIGKILL to its tree) and whatever DCP processes of it remain, and deletes the data directory.
/// </summary>
internal sealed class AppHostProcess : IAsyncDisposable
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromMinutes(2);
    private readonly Process process;
    private readonly string dataDirectory;
    private readonly ConcurrentQueue<string> lines = new();
    private readonly Signal changed = new();
    private readonly HashSet<int> orchestrator = [];

    private AppHostProcess(Process process, string dataDirectory, int gatewayPort)
    {
        this.process = process;
        this.dataDirectory = dataDirectory;
        GatewayPort = gatewayPort;
    }

    public int Pid => process.Id;

    public int GatewayPort { get; }

    public bool HasExited => process.HasExited;

    public int ExitCode => process.ExitCode;

    /// <summary>Everything it wrote so far, stdout and stderr, line by line.</summary>
    public IReadOnlyList<string> Lines => [.. lines];

    public string Output => string.Join(Environment.NewLine, lines);

    /// <summary>
    /// Starts the AppHost with a soft limit of <paramref name="openFiles"/> open files (through <c>sh</c>'s
    /// <c>ulimit</c>), the gateway and the OTLP endpoint on free ports, the dashboard on one Aspire picks.
    /// </summary>
    public static AppHostProcess Start(int openFiles)
    {
        var project = Path.GetDirectoryName(Projects.CqrsDapr_AppHost.ProjectPath) is { Length: > 0 } directory && Directory.Exists(directory)
            ? Projects.CqrsDapr_AppHost.ProjectPath
            : throw new InvalidOperationException("The AppHost project is not found.");
        var configuration = typeof(AppHostProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var dataDirectory = Path.Combine(Path.GetTempPath(), "cqrsdapr-e2e", Guid.NewGuid().ToString("N"));
        var gatewayPort = FreePort();
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var startInfo = new ProcessStartInfo("/bin/sh")
        {
            WorkingDirectory = project,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["ASPIRE_ALLOW_UNSECURED_TRANSPORT"] = "true",
                ["DOTNET_ENVIRONMENT"] = "Development",
            },
        };
        foreach (var argument in (string[])["-c", $"ulimit -S -n {openFiles} && exec \"$0\" \"$@\"", dotnet,
            Path.Combine(project, "bin", configuration, "net10.0", "CqrsDapr.AppHost.dll"),
            $"--CqrsDapr:DataDirectory={dataDirectory}", $"--CqrsDapr:Ports:gateway={gatewayPort}",
            "--CqrsDapr:Ports:dashboard=0", $"--CqrsDapr:Ports:otlp={FreePort()}"])
        {
            startInfo.ArgumentList.Add(argument);
        }

        var started = new AppHostProcess(new Process { StartInfo = startInfo }, dataDirectory, gatewayPort);
        started.process.OutputDataReceived += (_, e) => started.Add(e.Data);
        started.process.ErrorDataReceived += (_, e) => started.Add(e.Data);
        started.process.Start();
        started.process.BeginOutputReadLine();
        started.process.BeginErrorReadLine();
        return started;
    }

    /// <summary>Waits for a line containing <paramref name="text"/>; false when the time runs out.</summary>
    public Task<bool> WaitForLineAsync(string text, TimeSpan timeout, CancellationToken cancellationToken) =>
        changed.WaitUntilAsync(() => lines.Any(line => line.Contains(text, StringComparison.Ordinal)), timeout, cancellationToken);

    /// <summary>Waits until the gateway answers its health check (the whole system is up); false when the time runs out or the AppHost exits.</summary>
    public async Task<bool> WaitUntilHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var client = new HttpClient { BaseAddress = new Uri($"http://localhost:{GatewayPort}"), Timeout = TimeSpan.FromSeconds(5) };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (!process.HasExited)
        {
            try
            {
                using var response = await client.GetAsync(new Uri("/health", UriKind.Relative), deadline.Token);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return true;
                }
            }
            catch (Exception error) when (error is HttpRequestException or TaskCanceledException && !deadline.IsCancellationRequested)
            {
                // not up yet
            }

            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>Waits for the AppHost to exit; false when the time runs out.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>
    /// DCP's processes of this AppHost: <c>dcp start-apiserver --monitor {pid}</c> (detached, a child of init) and its
    /// <c>dcp run-controllers</c>, the parent of every resource's process and the host of Aspire's proxies.
    /// </summary>
    public (int ApiServer, int Controllers) Orchestrator()
    {
        var monitor = process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var apiServer = LinuxProcesses.All().Single(pid => LinuxProcesses.CommandLine(pid) is var args
            && args.Contains("start-apiserver") && args.SkipWhile(arg => arg != "--monitor").Skip(1).FirstOrDefault() == monitor);
        var controllers = LinuxProcesses.Children(apiServer).Single(pid => LinuxProcesses.CommandLine(pid).Contains("run-controllers"));
        orchestrator.Add(apiServer);
        orchestrator.Add(controllers);
        return (apiServer, controllers);
    }

    /// <summary>The process of a resource DCP runs whose command line satisfies <paramref name="match"/>.</summary>
    public int Resource(Func<IReadOnlyList<string>, bool> match) =>
        LinuxProcesses.Children(Orchestrator().Controllers).Single(pid => match(LinuxProcesses.CommandLine(pid)));

    private void Add(string? line)
    {
        if (line is not null)
        {
            lines.Enqueue(line);
            changed.Raise();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            // SIGTERM, as Ctrl+C: the AppHost stops every resource and DCP.
            using var terminate = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await terminate.WaitForExitAsync();
        }

        if (!await WaitForExitAsync(StopTimeout, CancellationToken.None))
        {
            process.Kill(entireProcessTree: true);
        }

        foreach (var pid in orchestrator)
        {
            try
            {
                using var left = Process.GetProcessById(pid);
                left.Kill(entireProcessTree: true);
            }
            catch (ArgumentException)
            {
                // gone, as it should be
            }
        }

        process.Dispose();
        if (Directory.Exists(dataDirectory))
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }
}
