using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace CqrsDapr.Benchmarks.HopFloor;

/// <summary>
/// The hop floor: what one HTTP hop between two .NET processes costs on this machine when nothing else is done, so a
/// system's cost per operation can be set against the number of hops it makes. Chains of bare ASP.NET Core processes
/// (<see cref="HopChain"/>) are driven open loop at fixed rates and closed loop with fixed clients; each load prints
/// the CPU µs per request of every process in the chain, the client's, and the latency.
/// </summary>
internal static class HopFloorBenchmark
{
    public const string Command = "hop-floor";

    public const string Help = """
        The hop floor: CPU per request of chains of bare ASP.NET Core processes (Kestrel, one route, HttpClient to the
        next, server GC, no middleware, logging or telemetry), started by this program on free ports and stopped at
        the end; needs no running system.
          dotnet run -c Release --project tests/CqrsDapr.Benchmarks -- hop-floor [options]

        Options:
          --hops <n,n,...>       chain lengths, one run each (default 1,3)
          --rates <n,n,...>      open-loop loads, requests/s (default 250,1000)
          --workers <n>          closed-loop clients (default 32)
          --seconds <s>          length of each load (default 15)
          --warmup-seconds <s>   closed-loop warm-up per chain, not measured (default 10)
        """;

    private static readonly MediaTypeHeaderValue Json = new("application/json");

    /// <summary>About the size of a create's body through the gateway.</summary>
    private static readonly byte[] Body =
        """{"sku":"B0b9f863c430b-000001","name":"Hop floor product","description":"A product as the system benchmark creates it","price":{"amount":19.99,"currency":"EUR"}}"""u8.ToArray();

    public static async Task<int> RunAsync(string[] args)
    {
        int[] hops = [1, 3];
        int[] rates = [250, 1000];
        var workers = 32;
        var seconds = 15.0;
        var warmup = 10.0;
        for (var i = 1; i < args.Length; i++)
        {
            if (args[i] is "--help" or "-h" || i + 1 >= args.Length)
            {
                Console.WriteLine(Help);
                return args[i] is "--help" or "-h" ? 0 : 2;
            }

            var value = args[++i];
            switch (args[i - 1])
            {
                case "--hops": hops = Numbers(value); break;
                case "--rates": rates = Numbers(value); break;
                case "--workers": workers = Numbers(value)[0]; break;
                case "--seconds": seconds = double.Parse(value, CultureInfo.InvariantCulture); break;
                case "--warmup-seconds": warmup = double.Parse(value, CultureInfo.InvariantCulture); break;
                default:
                    Console.WriteLine($"{args[i - 1]}: unknown option{Environment.NewLine}{Environment.NewLine}{Help}");
                    return 2;
            }
        }

        Console.WriteLine($"CqrsDapr hop floor, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; machine: {Environment.ProcessorCount} cores ({Machine.CpuModel()}), .NET {Environment.Version}; load average at start {Machine.LoadAverage()}");
        Console.WriteLine($"settings: chains of {string.Join('/', hops)} process(es); open loop {string.Join('/', rates)} requests/s and closed loop {workers} clients, {seconds:0.#} s each after {warmup:0.#} s warm-up; body {Body.Length} bytes, answer about 110");
        Console.WriteLine("A hop is one HTTP exchange between two processes on loopback (HTTP/1.1 keep-alive). Each process but the last takes a");
        Console.WriteLine("request in and sends one on; CPU µs per request is the process's CPU time in the load ÷ the requests answered.");
        using var client = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 1024,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
        })
        { Timeout = TimeSpan.FromSeconds(30) };
        foreach (var length in hops)
        {
            using var chain = await HopChain.StartAsync(length);
            async Task<Answer> SendAsync()
            {
                try
                {
                    using var content = new ByteArrayContent(Body);
                    content.Headers.ContentType = Json;
                    using var answer = await client.PostAsync(chain.Entry, content);
                    await answer.Content.ReadAsByteArrayAsync();
                    return new Answer((int)answer.StatusCode, null, false);
                }
                catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
                {
                    return new Answer(0, Answer.ConnectionError, false);
                }
            }

            await ClosedLoop.RunAsync(workers, warmup, _ => SendAsync());
            Console.WriteLine();
            Console.WriteLine($"chain of {length}: client → {string.Join(" → ", chain.Processes.Processes.Select(p => p.Role))}");
            var columns = new List<CpuTable.Column>();
            var perProcess = new List<string>();
            foreach (var rate in rates)
            {
                var count = (int)(rate * seconds);
                var latencies = new long[count];
                var failed = 0;
                var meter = CpuMeter.Start(chain.Processes);
                await OpenLoop.RunAsync(count, rate, async (i, due) =>
                {
                    var answer = await SendAsync();
                    latencies[i] = Stopwatch.GetTimestamp() - due;
                    if (!answer.IsAdmitted)
                    {
                        Interlocked.Increment(ref failed);
                    }
                });
                var sample = meter.Measure();
                var latency = Latencies.Of(latencies);
                Console.WriteLine($"  open loop {rate}/s: {count - failed} of {count} answered 2xx, {(count - failed) / sample.WallSeconds:F0}/s; latency from the intended send time p50 {latency.P50:F1} ms, p99 {latency.P99:F1} ms");
                var column = CpuTable.Column.PerOperation($"µs/req {rate}/s", sample, count - failed);
                columns.Add(column);
                perProcess.Add($"{rate}/s {column.Format(sample.SystemSeconds / length)} µs");
            }

            var closedMeter = CpuMeter.Start(chain.Processes);
            var closed = await ClosedLoop.RunAsync(workers, seconds, _ => SendAsync());
            var closedSample = closedMeter.Measure();
            Console.WriteLine($"  closed loop {workers} clients: {closed.Admitted} of {closed.Requests} answered 2xx, {closed.PerSecond:F0}/s; latency p50 {closed.Latency.P50:F1} ms, p99 {closed.Latency.P99:F1} ms");
            var closedColumn = CpuTable.Column.PerOperation($"µs/req {workers} clients", closedSample, closed.Admitted);
            columns.Add(closedColumn);
            perProcess.Add($"{workers} clients {closedColumn.Format(closedSample.SystemSeconds / length)} µs");
            columns.Add(CpuTable.Column.PercentOf(closedSample, $"% core {workers} clients"));
            CpuTable.Print("    ", [.. columns]);
            Console.WriteLine($"    per process of the chain (the chain's total ÷ {length}): {string.Join(", ", perProcess)}");
        }

        return 0;
    }

    private static int[] Numbers(string value) =>
        [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v => int.Parse(v, CultureInfo.InvariantCulture))];
}
