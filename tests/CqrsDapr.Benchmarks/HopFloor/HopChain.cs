using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace CqrsDapr.Benchmarks.HopFloor;

/// <summary>
/// A chain of <see cref="HopServer"/> processes started from this benchmark's own executable: the first one takes
/// the client's request, each passes it to the next, the last answers. The processes run with server GC, as the
/// services do (the benchmark itself runs workstation GC). Disposing stops them all.
/// </summary>
internal sealed class HopChain : IDisposable
{
    private readonly List<Process> processes = [];

    private HopChain()
    {
    }

    /// <summary>Where the client sends: the first process's <c>/hop</c>.</summary>
    public Uri Entry { get; private set; } = null!;

    /// <summary>The chain's processes, first to last, as the CPU meter reads them.</summary>
    public SystemProcesses Processes { get; private set; } = null!;

    public static async Task<HopChain> StartAsync(int length)
    {
        var chain = new HopChain();
        try
        {
            var ports = Enumerable.Range(0, length).Select(_ => FreePort()).ToArray();
            Uri? next = null;
            var started = new List<SystemProcess>();
            for (var i = length - 1; i >= 0; i--) // the last first, so each process's next is listening
            {
                var process = chain.Start(ports[i], next);
                started.Insert(0, new SystemProcess(process.Id, $"hop {i + 1} of {length}{(i == length - 1 ? " (answers)" : " (passes on)")}", IsService: true));
                next = new Uri($"http://127.0.0.1:{ports[i]}");
                await WaitHealthyAsync(next, process);
            }

            chain.Entry = new Uri(next!, "/hop");
            chain.Processes = SystemProcesses.Of(started, $"a chain of {length} bare ASP.NET Core process(es) started by this benchmark");
            return chain;
        }
        catch
        {
            chain.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var process in processes)
        {
            try
            {
                process.StandardInput.Close(); // the server's signal to stop
                if (!process.WaitForExit(5000))
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit();
                }
            }
            catch (InvalidOperationException)
            {
                // never started, or already gone
            }

            process.Dispose();
        }

        processes.Clear();
    }

    private Process Start(int port, Uri? next)
    {
        // This program again: its apphost, or `dotnet <dll>` when started through the dotnet host.
        var host = Environment.ProcessPath ?? throw new InvalidOperationException("The benchmark's own executable is unknown.");
        var start = new ProcessStartInfo(host) { UseShellExecute = false, RedirectStandardInput = true };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            start.ArgumentList.Add(typeof(HopChain).Assembly.Location);
        }

        start.ArgumentList.Add(HopServer.Command);
        start.ArgumentList.Add(port.ToString(CultureInfo.InvariantCulture));
        if (next is not null)
        {
            start.ArgumentList.Add(next.ToString());
        }

        start.Environment["DOTNET_gcServer"] = "1";
        start.Environment["DOTNET_gcConcurrent"] = "1";
        var process = Process.Start(start) ?? throw new InvalidOperationException("A hop server did not start.");
        processes.Add(process);
        return process;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitHealthyAsync(Uri server, Process process)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        for (var attempt = 0; attempt < 300; attempt++)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The hop server for {server} exited with {process.ExitCode}.");
            }

            try
            {
                using var answer = await client.GetAsync(new Uri(server, "/health"));
                if (answer.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"The hop server for {server} did not answer /health within 30 s.");
    }
}
