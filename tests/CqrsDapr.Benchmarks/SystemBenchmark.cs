using System.Diagnostics;
using System.Globalization;

namespace CqrsDapr.Benchmarks;

/// <summary>The phases of the benchmark, each printing its own figures. Only the public API, only through the gateway.</summary>
internal sealed class SystemBenchmark(GatewayClient client, BenchmarkOptions options, SystemProcesses system)
{
    private const double SustainedShare = 0.95;
    private const double SustainedP99Ms = 1000;
    private readonly List<string> createdIds = [];
    private readonly List<CreateStep> steps = [];
    private readonly List<LagPhase> lags = [];
    private readonly List<GetRun> gets = [];

    /// <summary>Highest create step that was sustained (see <see cref="CreateStepsAsync"/>), 0 if none.</summary>
    public int SustainedCreates { get; private set; }

    public double BestGetsPerSecond { get; private set; }

    /// <summary>Every create step run, in order.</summary>
    public IReadOnlyList<CreateStep> Steps => steps;

    /// <summary>Every consistency-lag phase run, in order.</summary>
    public IReadOnlyList<LagPhase> Lags => lags;

    /// <summary>Every GET run, in order.</summary>
    public IReadOnlyList<GetRun> Gets => gets;

    /// <summary>The settled idle system's CPU (see <see cref="IdleAsync"/>), null before it ran.</summary>
    public CpuSample? Idle { get; private set; }

    /// <summary>The products created by the create steps (the GET phase reads them; so may the overload section).</summary>
    public IReadOnlyList<string> CreatedIds => createdIds;

    /// <summary>
    /// 0. The warm system with no load at all: % of one core per process (the dashboard and the orchestrator included,
    /// as always, and the total without them), first right after the warm-up (its last writes read back, so nothing is
    /// left to project), then again once it has settled. Right after the warm-up the JIT is still compiling what the
    /// warm-up made hot (tier-1 and PGO) and the databases write behind; an idle system is the one after that, and the
    /// target is read there. Right after start the same system idles far higher still.
    /// </summary>
    public async Task IdleAsync()
    {
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"0. Idle: no request for {options.IdleSeconds:0.#} s right after the warm-up, then {options.IdleSeconds:0.#} s after {options.IdleSettleSeconds:0.#} s more."));
        var afterWarmUp = await MeasureIdleAsync("right after the warm-up");
        Idle = afterWarmUp;
        if (options.IdleSettleSeconds > 0)
        {
            await Task.Delay(TimeSpan.FromSeconds(options.IdleSettleSeconds));
            Idle = await MeasureIdleAsync("settled");
        }
    }

    private async Task<CpuSample> MeasureIdleAsync(string when)
    {
        var cpu = CpuMeter.Start(system);
        await Task.Delay(TimeSpan.FromSeconds(options.IdleSeconds));
        var idle = cpu.Measure();
        Console.WriteLine($"   {when}: {idle.Describe()}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"   {when}, without Aspire's processes (services, sidecars, databases, Redis): {idle.Percent(idle.SecondsWithoutAspire):F1} % of one core"));
        return idle;
    }

    /// <summary>
    /// Creates at a modest rate (at most 100/s, below what this system sustains on 2 cores) and reads them back with
    /// their tokens, nothing measured: long enough for tiered JIT (and PGO) to finish in every process, pools to fill
    /// and caches to warm. Measured: right after start the same 20 writes/s cost the command service 65 % of a core and
    /// the consistency lag p50 was 22 ms; a minute later 13 % and 15 ms.
    /// </summary>
    public async Task WarmUpAsync()
    {
        var rate = Math.Min(options.Rates[0], 100);
        var count = (int)(rate * options.WarmupSeconds);
        if (count == 0)
        {
            return;
        }

        var written = new (string? Id, string? Token)[count];
        await OpenLoop.RunAsync(count, rate, async (i, _) =>
        {
            var (_, id, token) = await client.CreateAsync();
            written[i] = (id, token);
        });
        await Parallel.ForEachAsync(written.Where(w => w.Id is not null), new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (w, _) => await client.GetAsync(client.Product(w.Id!), w.Token));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"warm-up: {count} creates at {rate}/s, {written.Count(w => w.Id is not null)} accepted, read back with their tokens"));
    }

    /// <summary>
    /// 1. Creates at fixed arrival rates, one step after another. A step is sustained when every create was
    /// accepted (2xx), the accepted rate reached 95% of the offered one and p99 stayed under a second (a queue that
    /// grows all step long shows in p99). Steps after one that reached less than half its rate are skipped. After each
    /// step the benchmark waits until the step's last create is visible (the projection has caught up), so a step's
    /// backlog is not counted in the next one, and prints the step's cost: CPU per create of each process, over the
    /// sending window and, separately, over the sending window plus that catch-up.
    /// </summary>
    public async Task CreateStepsAsync()
    {
        Console.WriteLine();
        Console.WriteLine("1. Command throughput: POST /api/products (unique SKU each) at fixed arrival rates, open loop;");
        Console.WriteLine("   latency from each request's intended send time (queueing in the client counts: no coordinated omission).");
        Console.WriteLine($"   {"offered/s",9} {"sent",7} {"2xx/s",8} {"non-2xx",-22}{Latencies.Header}  sustained");
        foreach (var rate in options.Rates)
        {
            var count = (int)(rate * options.StepSeconds);
            var latency = new long[count];
            var status = new int[count];
            var ids = new string?[count];
            var tokens = new string?[count];
            var cpu = CpuMeter.Start(system);
            var (start, end) = await OpenLoop.RunAsync(count, rate, async (i, due) =>
            {
                var (code, id, token) = await client.CreateAsync();
                latency[i] = Stopwatch.GetTimestamp() - due;
                (status[i], ids[i], tokens[i]) = (code, id, token);
            });
            var sending = cpu.Measure();
            var accepted = status.Count(s => s is >= 200 and <= 299);
            var perSecond = accepted / Seconds(end - start);
            var latencies = Latencies.Of(latency);
            var sustained = accepted == count && perSecond >= SustainedShare * rate && latencies.P99 <= SustainedP99Ms;
            if (sustained)
            {
                SustainedCreates = Math.Max(SustainedCreates, rate);
            }

            string? lastToken = null;
            string? lastId = null;
            for (var i = 0; i < count; i++)
            {
                if (ids[i] is { } id)
                {
                    createdIds.Add(id);
                    (lastId, lastToken) = (id, tokens[i]);
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"   {rate,9} {count,7} {perSecond,8:F0} {Failures(status),-22}{latencies}  {(sustained ? "yes" : "no")}"));
            Console.WriteLine($"      {sending.Describe()}");
            var (visible, catchUp, withCatchUp) = await PrintCostAsync(cpu, sending, lastId, lastToken, "      ", $"the {rate}/s step", $"accepted create ({accepted})", "create", accepted);
            steps.Add(new CreateStep(rate, Seconds(end - start), accepted == count, perSecond, latencies, visible, catchUp, withCatchUp, accepted));
            if (perSecond < 0.5 * rate)
            {
                Console.WriteLine($"   higher steps skipped: this one reached less than half its rate ({string.Join(", ", options.Rates.SkipWhile(r => r != rate).Skip(1))}/s not run)");
                break;
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"   sustained = all 2xx, ≥ {SustainedShare:P0} of the offered rate accepted, p99 ≤ {SustainedP99Ms:F0} ms. Highest sustained: {SustainedCreates}/s"));
    }

    /// <summary>
    /// 2. Writes at a fixed rate; as each write's 2xx arrives, a GET of that product carrying the write's consistency
    /// token (the query service answers once its view has that version). Lag = that GET's 200 − the write's 2xx, so
    /// it includes one GET round trip; plain GETs (no token), idle and during the phase, show that round trip.
    /// </summary>
    public async Task ConsistencyLagAsync()
    {
        foreach (var rate in options.LagRates)
        {
            await ConsistencyLagAsync(rate);
        }
    }

    private async Task ConsistencyLagAsync(int rate)
    {
        Console.WriteLine();
        Console.WriteLine($"2. Consistency lag at {rate} writes/s (open loop): write's 2xx → GET with its X-Consistency-Token answers 200.");
        Console.WriteLine("   The lag includes one GET round trip through the gateway; plain GETs (no token) below give that round trip for scale.");
        var readable = createdIds.Count > 0 ? createdIds.Select(client.Product).ToArray() : [];
        var idle = new long[options.Quick ? 50 : 300];
        for (var i = 0; i < idle.Length && readable.Length > 0; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await client.GetAsync(readable[i * 7919 % readable.Length]);
            idle[i] = Stopwatch.GetTimestamp() - started;
        }

        var count = (int)(rate * options.LagSeconds);
        var write = new long[count];
        var lag = new long[count];
        var plain = new long[count];
        var writeStatus = new int[count];
        var readStatus = new int[count];
        var behind = 0;
        Array.Fill(lag, -1);
        Array.Fill(plain, -1);
        string? lastId = null;
        string? lastToken = null;
        var cpu = CpuMeter.Start(system);
        await OpenLoop.RunAsync(count, rate, async (i, due) =>
        {
            var (status, id, token) = await client.CreateAsync();
            var written = Stopwatch.GetTimestamp();
            (write[i], writeStatus[i]) = (written - due, status);
            if (id is null || token is null)
            {
                return;
            }

            (lastId, lastToken) = (id, token);
            var sample = i % 10 == 0 && readable.Length > 0 ? PlainGetAsync(readable[i % readable.Length]) : Task.FromResult(-1L);
            var product = client.Product(id);
            int read;
            var attempts = 0;
            while ((read = await client.GetAsync(product, token)) == 503 && ++attempts < 5)
            {
                Interlocked.Increment(ref behind); // the wait timed out: ask again, as Retry-After says
            }

            readStatus[i] = read;
            if (read == 200)
            {
                lag[i] = Stopwatch.GetTimestamp() - written;
            }

            plain[i] = await sample;
        });
        var sending = cpu.Measure();

        var lagged = Latencies.Of(lag);
        var accepted = writeStatus.Count(s => s is >= 200 and <= 299);
        var neverVisible = accepted - lagged.Count;
        lags.Add(new LagPhase(rate, lagged, neverVisible));
        Console.WriteLine($"   {"",-44}{Latencies.Header}");
        Console.WriteLine($"   {"write (POST) latency from intended send",-44}{Latencies.Of(write)}");
        Console.WriteLine($"   {"lag: write 2xx → token GET 200",-44}{lagged}");
        Console.WriteLine($"   {"plain GET round trip, idle (sequential)",-44}{Latencies.Of(idle)}");
        Console.WriteLine($"   {"plain GET round trip, during the phase",-44}{Latencies.Of(plain)}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"   writes {count}, accepted {accepted} ({Failures(writeStatus)}); visible {lagged.Count}, never visible {neverVisible} ({Failures(readStatus.Where((_, i) => writeStatus[i] is >= 200 and <= 299 && readStatus[i] != 200))}); 503 behind {behind}"));
        Console.WriteLine($"      {sending.Describe()}");
        await PrintCostAsync(cpu, sending, lastId, lastToken, "   ", "the lag phase",
            $"accepted write ({accepted}; each with its token GET, one in ten with a plain GET too)", "write", accepted);
    }

    /// <summary>3. GET by id, closed loop: each worker sends its next request when the previous answer arrives.</summary>
    public async Task GetThroughputAsync()
    {
        Console.WriteLine();
        Console.WriteLine($"3. GET /api/products/{{id}} throughput, closed loop over {createdIds.Count} products created above (no token).");
        if (createdIds.Count == 0)
        {
            Console.WriteLine("   skipped: no product was created");
            return;
        }

        var products = createdIds.Select(client.Product).ToArray();
        Console.WriteLine($"   {"workers",7} {"requests",9} {"200/s",8} {"non-200",-22}{Latencies.Header}");
        foreach (var workers in options.Workers)
        {
            var stopAt = Stopwatch.GetTimestamp() + (long)(options.GetSeconds * Stopwatch.Frequency);
            var perWorker = new List<long>[workers];
            var statuses = new List<int>[workers];
            var cpu = CpuMeter.Start(system);
            var started = Stopwatch.GetTimestamp();
            await Task.WhenAll(Enumerable.Range(0, workers).Select(async w =>
            {
                var latencies = perWorker[w] = new List<long>(capacity: 4096);
                var failed = statuses[w] = [];
                for (var next = w * products.Length / workers; Stopwatch.GetTimestamp() < stopAt; next = (next + 1) % products.Length)
                {
                    var sent = Stopwatch.GetTimestamp();
                    var status = await client.GetAsync(products[next]);
                    latencies.Add(Stopwatch.GetTimestamp() - sent);
                    if (status != 200)
                    {
                        failed.Add(status);
                    }
                }
            }));
            var elapsed = Seconds(Stopwatch.GetTimestamp() - started);
            var sample = cpu.Measure();
            var all = perWorker.SelectMany(l => l).ToArray();
            var failures = statuses.SelectMany(l => l).ToArray();
            var perSecond = (all.Length - failures.Length) / elapsed;
            BestGetsPerSecond = Math.Max(BestGetsPerSecond, perSecond);
            gets.Add(new GetRun(workers, perSecond, Latencies.Of(all), failures.Length, sample, all.Length));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"   {workers,7} {all.Length,9} {perSecond,8:F0} {Failures(failures),-22}{Latencies.Of(all)}"));
            Console.WriteLine($"      {sample.Describe()}");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"      cost per GET ({all.Length} requests, {workers} workers, {sample.WallSeconds:F1} s):"));
            CpuTable.Print("      ", CpuTable.Column.PercentOf(sample), CpuTable.Column.PerOperation("µs/GET", sample, all.Length));
        }
    }

    /// <summary>
    /// Waits until the last write of a phase is visible, then prints the phase's cost per operation twice: CPU over the
    /// sending window (the projection may still be behind at its end), and incl. catch-up (the window plus that wait).
    /// </summary>
    private async Task<(bool Visible, double CatchUpSeconds, CpuSample WithCatchUp)> PrintCostAsync(
        CpuMeter cpu, CpuSample sending, string? lastId, string? lastToken, string indent, string phase, string perWhat, string unit, int operations)
    {
        var (settled, catchUp) = await SettleAsync(lastId, lastToken, $"{indent}after {phase}");
        var caughtUp = cpu.Measure();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{indent}cost of {phase} per {perWhat}: CPU over the sending window ({sending.WallSeconds:F1} s; the projection may still be behind at its end),"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{indent}and incl. catch-up: the sending window plus the wait until its last write was visible ({caughtUp.WallSeconds:F1} s in all{(settled ? "" : ", NOT visible: incomplete")})"));
        CpuTable.Print(
            indent,
            CpuTable.Column.PercentOf(sending),
            CpuTable.Column.PerOperation($"µs/{unit}", sending, operations),
            CpuTable.Column.PerOperation($"µs/{unit} incl. catch-up", caughtUp, operations));
        return (settled, catchUp, caughtUp);
    }

    /// <summary>
    /// Waits until a write is visible (its token's GET answers 200): the projection has caught up before the next
    /// step. False when there was no write to wait for or it did not become visible within two minutes.
    /// </summary>
    private async Task<(bool Visible, double Seconds)> SettleAsync(string? id, string? token, string when)
    {
        if (id is null || token is null)
        {
            Console.WriteLine($"{when}: no accepted write to wait for");
            return (false, double.NaN);
        }

        var started = Stopwatch.GetTimestamp();
        var status = await client.WaitVisibleAsync(id, token, TimeSpan.FromMinutes(2));
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{when}: last write visible {seconds:F2} s later (GET with its token: {status})"));
        return (status == 200, seconds);
    }

    private async Task<long> PlainGetAsync(Uri product)
    {
        var started = Stopwatch.GetTimestamp();
        await client.GetAsync(product);
        return Stopwatch.GetTimestamp() - started;
    }

    /// <summary>"none", or counts per status such as "429×12 503×3 none×1" (none: no answer).</summary>
    private static string Failures(IEnumerable<int> statuses)
    {
        var failed = statuses.Where(s => s is < 200 or > 299).GroupBy(s => s).OrderBy(g => g.Key)
            .Select(g => string.Create(CultureInfo.InvariantCulture, $"{(g.Key == 0 ? "none" : g.Key.ToString(CultureInfo.InvariantCulture))}×{g.Count()}"))
            .ToList();
        return failed.Count == 0 ? "none" : string.Join(' ', failed);
    }

    private static double Seconds(long ticks) => (double)ticks / Stopwatch.Frequency;
}

/// <summary>One create step: offered rate, how long it sent, whether every create was accepted, its latency and catch-up.</summary>
internal sealed record CreateStep(
    int Rate, double Seconds, bool AllAccepted, double PerSecond, Latencies Latency, bool Visible, double CatchUpSeconds, CpuSample WithCatchUp, int Accepted);

/// <summary>One consistency-lag phase: its write rate, the lag, and accepted writes that never became visible.</summary>
internal sealed record LagPhase(int Rate, Latencies Lag, int NeverVisible);

/// <summary>One closed-loop GET run.</summary>
internal sealed record GetRun(int Workers, double PerSecond, Latencies Latency, int Failures, CpuSample Cpu, int Requests);
