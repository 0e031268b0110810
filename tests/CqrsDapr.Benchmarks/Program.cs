using System.Globalization;
using System.Runtime.InteropServices;
using CqrsDapr.Benchmarks;
using CqrsDapr.Benchmarks.HopFloor;

// The system benchmark: a RUNNING system (README, "System benchmark"), driven through its gateway only.
// dotnet run -c Release --project tests/CqrsDapr.Benchmarks [-- --quick] [--url http://localhost:8080] [--help]
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
if (args.FirstOrDefault() == HopServer.Command)
{
    return await HopServer.RunAsync(args); // one process of the hop floor's chain, started by the hop-floor command
}

// Enough threads from the first second: a burst of answers must not wait for the pool to grow.
ThreadPool.GetMinThreads(out var workerThreads, out var ioThreads);
ThreadPool.SetMinThreads(Math.Max(workerThreads, 64), ioThreads);
if (args.FirstOrDefault() == HopFloorBenchmark.Command)
{
    return await HopFloorBenchmark.RunAsync(args);
}

var options = BenchmarkOptions.Parse(args, out var error);
if (options is null)
{
    Console.WriteLine(error is null ? BenchmarkOptions.Help : $"{error}{Environment.NewLine}{Environment.NewLine}{BenchmarkOptions.Help}");
    return error is null ? 0 : 2;
}


using var client = new GatewayClient(options.Gateway, options.Connections);
Console.WriteLine($"CqrsDapr system benchmark, through the gateway only ({(options.OnlyOverload ? "overload section only" : options.Quick ? "quick" : "full")}), {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
Console.WriteLine($"machine: {Environment.ProcessorCount} cores ({Machine.CpuModel()}), {RuntimeInformation.OSDescription}, .NET {Environment.Version}; load average at start {Machine.LoadAverage()}");
Console.WriteLine($"settings: {options.Describe()}");
if (!await client.IsHealthyAsync())
{
    Console.WriteLine($"No healthy gateway at {options.Gateway} (GET /health). Start the system first (README, \"System benchmark\") or pass --url.");
    return 1;
}

var system = SystemProcesses.Find(options.Gateway, options.RootPid, options.AppHostPid);
Console.WriteLine($"system under test: {system.Rule}");
Console.WriteLine($"sidecars: {system.SidecarKind}; processes: {string.Join(", ", system.Processes.Select(p => $"{p.Role} ({p.Pid})"))}");
Console.WriteLine($"not measured (the root's other descendants: launchers, monitors): {(system.Unnamed.Count == 0 ? "none" : string.Join(", ", system.Unnamed.GroupBy(u => u, StringComparer.Ordinal).Select(g => g.Count() == 1 ? g.Key : $"{g.Key} ×{g.Count()}")))}");
Console.WriteLine("The benchmark runs on the same machine and takes CPU from the system; each phase prints where the cores went:");
Console.WriteLine("% of one core per process, and CPU µs per operation (the process's CPU time in the window ÷ the operations; idle work such");
Console.WriteLine("as the dashboard's or PostgreSQL's background work in that window is included).");
Console.WriteLine();

var benchmark = new SystemBenchmark(client, options, system);
await benchmark.WarmUpAsync();
if (!options.OnlyOverload)
{
    await benchmark.IdleAsync();
    await benchmark.CreateStepsAsync();
    await benchmark.ConsistencyLagAsync();
    await benchmark.GetThroughputAsync();
    var largestService = MemoryReport.Print(system);
    if (!options.Overload)
    {
        SystemTargets.Print(benchmark, largestService);
    }
}

if (options.Overload)
{
    await new Overload(client, options, system).RunAsync(options.OnlyOverload ? null : benchmark);
    var afterOverload = MemoryReport.Print(system, "after the overload section");
    if (!options.OnlyOverload)
    {
        SystemTargets.Print(benchmark, afterOverload);
    }
}

if (client.RateLimited > 0)
{
    Console.WriteLine($"{client.RateLimited} requests were answered 429 by the gateway's rate limit: start the AppHost with --CqrsDapr:Gateway:RateLimitPermits=100000000.");
}

return 0;
