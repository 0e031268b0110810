using System.Globalization;
using System.Runtime.InteropServices;
using CqrsDapr.Benchmarks;

// The system benchmark: a RUNNING system (README, "System benchmark"), driven through its gateway only.
// dotnet run -c Release --project tests/CqrsDapr.Benchmarks [-- --quick] [--url http://localhost:8080] [--help]
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var options = BenchmarkOptions.Parse(args, out var error);
if (options is null)
{
    Console.WriteLine(error is null ? BenchmarkOptions.Help : $"{error}{Environment.NewLine}{Environment.NewLine}{BenchmarkOptions.Help}");
    return error is null ? 0 : 2;
}

// Enough threads from the first second: a burst of answers must not wait for the pool to grow.
ThreadPool.GetMinThreads(out var workerThreads, out var ioThreads);
ThreadPool.SetMinThreads(Math.Max(workerThreads, 64), ioThreads);

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
    await benchmark.CreateStepsAsync();
    await benchmark.ConsistencyLagAsync();
    await benchmark.GetThroughputAsync();
    var largestService = MemoryReport.Print(system);

    Console.WriteLine();
    Console.WriteLine("Targets");
    Target($"create throughput sustained ≥ 2,000/s", $"{benchmark.SustainedCreates:N0}/s", benchmark.SustainedCreates >= 2000);
    Target("consistency lag p50 ≤ 15 ms", benchmark.Lag.Count == 0 ? "-" : $"{benchmark.Lag.P50:F1} ms", benchmark.Lag.Count > 0 && benchmark.Lag.P50 <= 15);
    Target("consistency lag p99 ≤ 150 ms", benchmark.Lag.Count == 0 ? "-" : $"{benchmark.Lag.P99:F1} ms{(benchmark.LagNeverVisible > 0 ? $", {benchmark.LagNeverVisible} writes never visible" : "")}",
        benchmark.Lag.Count > 0 && benchmark.Lag.P99 <= 150 && benchmark.LagNeverVisible == 0);
    Target("GET by id ≥ 8,000/s", $"{benchmark.BestGetsPerSecond:N0}/s", benchmark.BestGetsPerSecond >= 8000);
    Target("peak RSS of each service < 300 MB", largestService is { } peak ? $"largest {peak.Role} {peak.Mb:F0} MB" : "no service process found",
        largestService is { Mb: < 300 });
}

if (options.Overload)
{
    await new Overload(client, options, system).RunAsync(options.OnlyOverload ? null : benchmark);
}

if (client.RateLimited > 0)
{
    Console.WriteLine($"{client.RateLimited} requests were answered 429 by the gateway's rate limit: start the AppHost with --CqrsDapr:Gateway:RateLimitPermits=100000000.");
}

return 0;

static void Target(string name, string value, bool met) => Targets.Print(name, value, met);
