using System.Globalization;
using CqrsDapr.CommandService.Benchmarks;
using CqrsDapr.TestSupport;

// Measures the write path and the outbox relay against a real PostgreSQL started here, variants side by side.
// dotnet run -c Release --project tests/CqrsDapr.CommandService.Benchmarks [-- --quick] [--only latency|drain|create]
var quick = args.Contains("--quick");
var only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault();
bool Runs(string scenario) => only is null || only == scenario;
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
Console.WriteLine($"CqrsDapr command-service benchmarks ({(quick ? "quick" : "full")}), {Environment.ProcessorCount} cores, {DateTime.UtcNow:u}");

await using var postgres = await PostgresServer.StartAsync();
Console.WriteLine($"PostgreSQL on 127.0.0.1:{postgres.Port} (fsync off, synchronous_commit off: a test server)");
var databases = new BenchmarkDatabase(postgres);

if (Runs("latency"))
{
    await Scenarios.CommitToPublishLatencyAsync(databases, seconds: quick ? 4 : 15, commitsPerSecond: 200);
}

if (Runs("drain"))
{
    await Scenarios.BacklogDrainAsync(databases, rows: quick ? 20_000 : 100_000, batchSizes: [100, 500, 1000]);
}

if (Runs("create"))
{
    await Scenarios.CreateThroughputAsync(databases, seconds: quick ? 4 : 15, writers: 8);
}
