using System.Globalization;

namespace CqrsDapr.Benchmarks;

/// <summary>
/// 5. The overload section (<c>--overload</c>, <c>--only-overload</c>): what the system does when more arrives than it
/// can serve. Each operation's capacity first (from the phases before, or a short closed-loop probe); then reads,
/// creates and both together, open loop at 0.5×, 1×, 2× and 4× capacity and back at 0.5× the moment the 4× sending
/// ends (recovery); then reads at 0.25× alone and beside creates at 4× (isolation); then the reconciliation, the chart
/// and the targets. A well-behaved system keeps its goodput past capacity and refuses the rest at once (503
/// "overloaded" with Retry-After), rather than queueing everything until every request is slow.
/// </summary>
internal sealed class Overload(GatewayClient client, BenchmarkOptions options, SystemProcesses system)
{
    private const string Indent = "   ";
    private const double RecoveryMultiple = 0.5;
    private const double IsolationReads = 0.25;
    private const double IsolationCreates = 4;

    /// <summary>The share of each operation's capacity in the mix.</summary>
    private const double MixShare = 0.5;
    // The probes' clients: no more than the gateway admits per side by default (16 + 16 reads, 8 + 8 writes). A
    // closed loop with more clients than that is refused as fast as it sends, and its refusals take the CPU the
    // admitted requests need: 32 create clients measured 163 creates/s where 8 measure the real capacity.
    private const int ReadProbeWorkers = 16;
    private const int CreateProbeWorkers = 8;
    private const double ProbeSeconds = 5;
    private const int SeedProducts = 500;
    private const double GoodputShare = 0.90;
    private const double ReadP99Ms = 250;
    private const double CreateP99Ms = 500;
    private const double RefusalP99Ms = 10;
    private const double IsolationGoodputShare = 0.90;
    private const double IsolationP99Ratio = 3;
    private const double RecoveryRatio = 1.2;
    private static readonly double[] Multiples = [0.5, 1, 2, 4];
    private readonly List<OverloadPhase> phases = [];
    private IReadOnlyList<Uri> products = [];
    private double readCapacity;
    private double createCapacity;

    public async Task RunAsync(SystemBenchmark? earlier)
    {
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"5. Overload: each operation open loop at multiples of its capacity, {options.OverloadSeconds:0.#} s per phase; latency from each request's intended send time."));
        Console.WriteLine("   goodput/s = 2xx answered within the phase's sending window ÷ the window; overloaded = 503 with code \"overloaded\";");
        Console.WriteLine("   other = any other non-2xx status; no answer = timeout (30 s) or connection error; refusal p99 = p99 of the \"overloaded\" answers;");
        Console.WriteLine("   send lag p99 = how late the generator itself started a request after its intended send time (it shares the cores: no latency is below it);");
        Console.WriteLine("   fds/sockets = the most open descriptors and sockets a process had at once (/proc/<pid>/fd every 250 ms; PostgreSQL with its backends).");
        await CapacityAsync(earlier);
        var ladders = new List<Ladder>
        {
            await LadderAsync("5.2 Reads: GET /api/products/{id}, no token", "reads", reads: true, creates: false),
            await LadderAsync("5.3 Creates: POST /api/products, a new SKU each", "creates", reads: false, creates: true),
            await LadderAsync("5.4 Mix: reads and creates together, each at half its capacity × the multiple (1× = the machine's capacity, shared)", "mix", reads: true, creates: true),
        };
        var (alone, beside) = await IsolationAsync();

        Console.WriteLine();
        Console.WriteLine($"5.6 Reconciliation (creates of every phase of this section; refused ones sent again, at most {Reconciliation.SampleLimit:N0} of each kind)");
        var reconciliation = await Reconciliation.RunAsync(client, phases.SelectMany(p => p.Streams));
        reconciliation.Print(Indent);

        if (options.ChartPath is { } path)
        {
            WriteChart(path, ladders);
        }

        var end = Find();
        PrintTargets(ladders, alone, beside, reconciliation, ProcessChanges.Between(system, end));
    }

    private static string Times(double multiple) => string.Create(CultureInfo.InvariantCulture, $"{multiple:0.##}×");

    private static string Ratio(double ratio) => double.IsFinite(ratio) ? string.Create(CultureInfo.InvariantCulture, $"{ratio:F2}×") : "-";

    private SystemProcesses Find() => SystemProcesses.Find(options.Gateway, options.RootPid, options.AppHostPid);

    /// <summary>5.1: each operation's capacity (given, from the phases before, or probed) and the products to read.</summary>
    private async Task CapacityAsync(SystemBenchmark? earlier)
    {
        Console.WriteLine();
        Console.WriteLine("5.1 Capacity");
        var ids = earlier?.CreatedIds.ToList() ?? [];
        string createSource;
        if (options.CapacityCreates is { } givenCreates)
        {
            (createCapacity, createSource) = (givenCreates, "--capacity-creates");
        }
        else if (earlier is { SustainedCreates: > 0 })
        {
            (createCapacity, createSource) = (earlier.SustainedCreates, "the highest sustained step of section 1");
        }
        else
        {
            var created = new Answer[1_000_000];
            var probe = await ClosedLoop.RunAsync(CreateProbeWorkers, ProbeSeconds, async n =>
            {
                var answer = await client.CreateAsync(client.NextNumber());
                if (n < created.Length)
                {
                    created[n] = answer;
                }

                return answer;
            });
            ids.AddRange(await VisibleAsync(created));
            createCapacity = Math.Max(1, probe.PerSecond);
            createSource = string.Create(CultureInfo.InvariantCulture,
                $"closed-loop probe, {CreateProbeWorkers} workers × {ProbeSeconds:0} s: {probe.Admitted:N0} of {probe.Requests:N0} answered 2xx, p50 {probe.Latency.P50:F1} ms, p99 {probe.Latency.P99:F1} ms");
        }

        if (ids.Count < SeedProducts)
        {
            // Nothing (or little) to read yet: a few products, closed loop, not measured.
            var seeded = new Answer[SeedProducts - ids.Count];
            await Parallel.ForEachAsync(Enumerable.Range(0, seeded.Length), new ParallelOptions { MaxDegreeOfParallelism = 16 },
                async (i, _) => seeded[i] = await client.CreateAsync(client.NextNumber()));
            ids.AddRange(await VisibleAsync(seeded));
        }

        products = [.. ids.Select(client.Product)];
        if (products.Count == 0)
        {
            throw new InvalidOperationException("no product could be created: the system refuses creates, the section cannot run");
        }

        string readSource;
        if (options.CapacityReads is { } givenReads)
        {
            (readCapacity, readSource) = (givenReads, "--capacity-reads");
        }
        else if (earlier is { BestGetsPerSecond: > 0 })
        {
            (readCapacity, readSource) = (earlier.BestGetsPerSecond, "the best GET/s of section 3");
        }
        else
        {
            var probe = await ClosedLoop.RunAsync(ReadProbeWorkers, ProbeSeconds, n => client.ReadAsync(products[n % products.Count]));
            readCapacity = Math.Max(1, probe.PerSecond);
            readSource = string.Create(CultureInfo.InvariantCulture,
                $"closed-loop probe, {ReadProbeWorkers} workers × {ProbeSeconds:0} s: {probe.Admitted:N0} of {probe.Requests:N0} answered 2xx, p50 {probe.Latency.P50:F1} ms, p99 {probe.Latency.P99:F1} ms");
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Indent}reads (GET by id):  {readCapacity,8:N0}/s  ({readSource})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Indent}creates (POST):     {createCapacity,8:N0}/s  ({createSource})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Indent}reads go round robin over {products.Count:N0} products"));
    }

    /// <summary>
    /// 5.2–5.4: one operation (or both) at each multiple of capacity, then at 0.5× again, started the moment the
    /// 4× phase's sending ends while its answers are still coming (recovery), and the recovery's first seconds.
    /// </summary>
    private async Task<Ladder> LadderAsync(string title, string name, bool reads, bool creates)
    {
        Console.WriteLine();
        Console.WriteLine(title);
        Console.WriteLine(OverloadPhase.Header(Indent));
        var steps = new List<OverloadPhase>();
        OverloadPhase? recovery = null;
        foreach (var multiple in Multiples)
        {
            var phase = Start($"{name} {Times(multiple)}", multiple, Find(), Rates($"{name} {Times(multiple)}", multiple, reads, creates));
            await phase.SentAsync();
            var last = multiple == Multiples[^1];
            if (last)
            {
                var label = $"{name} {Times(RecoveryMultiple)} recovery";
                recovery = Start(label, RecoveryMultiple, phase.After, Rates(label, RecoveryMultiple, reads, creates));
            }

            await phase.AnsweredAsync();
            phase.Print(Indent, costTable: last);
            steps.Add(phase);
        }

        await recovery!.SentAsync();
        await recovery.AnsweredAsync();
        recovery.Print(Indent);
        PrintRecovery(steps[0], recovery);
        if (creates)
        {
            await SettleAsync([.. steps, recovery]);
        }

        return new Ladder(name, steps, recovery);
    }

    /// <summary>5.5: reads at 0.25× alone, then the same reads beside creates at 4×, side by side.</summary>
    private async Task<(StreamFigures Alone, StreamFigures Beside)> IsolationAsync()
    {
        Console.WriteLine();
        Console.WriteLine($"5.5 Isolation: reads at {Times(IsolationReads)} their capacity alone, then beside creates at {Times(IsolationCreates)} theirs");
        Console.WriteLine(OverloadPhase.Header(Indent));
        var readRate = IsolationReads * readCapacity;
        var alone = Start("isolation, reads alone", IsolationReads, Find(), [(Operation.Read, readRate, $"reads {Times(IsolationReads)} alone")]);
        await alone.SentAsync();
        await alone.AnsweredAsync();
        alone.Print(Indent);
        var beside = Start("isolation, reads beside creates", IsolationCreates, Find(),
            [(Operation.Read, readRate, $"reads {Times(IsolationReads)} beside creates"), (Operation.Create, IsolationCreates * createCapacity, $"creates {Times(IsolationCreates)} beside reads")]);
        await beside.SentAsync();
        await beside.AnsweredAsync();
        beside.Print(Indent);

        var (without, with) = (alone.Figures[0], beside.Figures[0]);
        Console.WriteLine($"{Indent}reads, side by side:{"",22}{"goodput/s",10}{"p50 ms",9}{"p99 ms",9}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{Indent}{"without the write overload",-42}{without.Goodput,10:N0}{without.AdmittedLatency.P50,9:F1}{without.AdmittedLatency.P99,9:F1}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{Indent}{$"beside creates at {Times(IsolationCreates)} capacity",-42}{with.Goodput,10:N0}{with.AdmittedLatency.P50,9:F1}{with.AdmittedLatency.P99,9:F1}"));
        Console.WriteLine(
            $"{Indent}{"ratio (with ÷ without)",-42}{Ratio(with.Goodput / without.Goodput),10}{Ratio(with.AdmittedLatency.P50 / without.AdmittedLatency.P50),9}{Ratio(with.AdmittedLatency.P99 / without.AdmittedLatency.P99),9}");
        await SettleAsync([beside]);
        return (without, with);
    }

    /// <summary>The accepted creates' ids, once the last of them is visible (read with its token), so reads find them all.</summary>
    private async Task<IEnumerable<string>> VisibleAsync(Answer[] answers)
    {
        var accepted = answers.Where(a => a is { IsAdmitted: true, Id: not null, Token: not null }).ToList();
        if (accepted.Count > 0)
        {
            await client.WaitVisibleAsync(accepted[^1].Id!, accepted[^1].Token!, TimeSpan.FromMinutes(2));
        }

        return accepted.Select(a => a.Id!);
    }

    /// <summary>The streams of a phase at <paramref name="multiple"/>: one row each, labelled after the phase (and the operation when both run).</summary>
    private (Operation, double, string)[] Rates(string label, double multiple, bool reads, bool creates) => (reads, creates) switch
    {
        // Each capacity was measured with the whole machine: in the mix each side gets its share of it.
        (true, true) => [(Operation.Read, multiple * MixShare * readCapacity, $"{label} reads"), (Operation.Create, multiple * MixShare * createCapacity, $"{label} creates")],
        (true, false) => [(Operation.Read, multiple * readCapacity, label)],
        _ => [(Operation.Create, multiple * createCapacity, label)],
    };

    private OverloadPhase Start(string name, double multiple, SystemProcesses before, (Operation, double, string)[] rates)
    {
        var phase = OverloadPhase.Start(name, multiple, options.OverloadSeconds, client, products, before, Find, rates);
        phases.Add(phase);
        return phase;
    }

    /// <summary>The recovery's first seconds, each on its own, and together against the 0.5× phase before the overload.</summary>
    private static void PrintRecovery(OverloadPhase before, OverloadPhase recovery)
    {
        Console.WriteLine($"{Indent}recovery: its first {StreamFigures.SecondsReported} s (by intended send time), per second 2xx p99 ms (2xx, refused), and together against {before.Name} before the overload:");
        for (var k = 0; k < recovery.Figures.Count; k++)
        {
            var (now, then) = (recovery.Figures[k], before.Figures[k]);
            var seconds = string.Join("  ", now.FirstSeconds.Select((s, i) => (Second: s, Number: i + 1)).Where(s => s.Second.Admitted + s.Second.Refused > 0)
                .Select(s => string.Create(CultureInfo.InvariantCulture,
                    $"{s.Number}: {(s.Second.Latency.Count == 0 ? "-" : s.Second.Latency.P99.ToString("F1", CultureInfo.InvariantCulture))} ({s.Second.Admitted:N0}, {s.Second.Refused:N0})")));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{Indent}   {(now.Operation == Operation.Read ? "reads" : "creates"),-8} {seconds};  first {StreamFigures.SecondsReported} s p99 {now.FirstSecondsLatency.P99:F1} ms vs {then.AdmittedLatency.P99:F1} ms before: {Ratio(now.FirstSecondsLatency.P99 / then.AdmittedLatency.P99)}"));
        }
    }

    /// <summary>Waits until the last accepted create of these phases is visible, so the next phase starts without a backlog.</summary>
    private async Task SettleAsync(IEnumerable<OverloadPhase> settled)
    {
        var (lastDone, id, token) = (long.MinValue, (string?)null, (string?)null);
        foreach (var stream in settled.SelectMany(p => p.Streams).Where(s => s.Operation == Operation.Create))
        {
            for (var i = 0; i < stream.Count; i++)
            {
                if (stream.Answers[i] is { IsAdmitted: true, Id: { } created, Token: { } written } && stream.Done[i] > lastDone)
                {
                    (lastDone, id, token) = (stream.Done[i], created, written);
                }
            }
        }

        if (id is null || token is null)
        {
            Console.WriteLine($"{Indent}no create was accepted: nothing to wait for");
            return;
        }

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var status = await client.WaitVisibleAsync(id, token, TimeSpan.FromMinutes(2));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{Indent}then: the last accepted create visible {System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds:F2} s later (GET with its token: {status}), before the next phase"));
    }

    private void WriteChart(string path, IReadOnlyList<Ladder> ladders)
    {
        var series = new List<OverloadChart.Series>();
        foreach (var ladder in ladders)
        {
            for (var k = 0; k < ladder.Steps[0].Figures.Count; k++)
            {
                var operation = ladder.Steps[0].Figures[k].Operation;
                var capacity = (operation == Operation.Read ? readCapacity : createCapacity) * (ladder.Steps[0].Figures.Count == 1 ? 1 : MixShare);
                var name = ladder.Steps[0].Figures.Count == 1 ? ladder.Name : $"{ladder.Name}, {(operation == Operation.Read ? "reads" : "creates")}";
                series.Add(new OverloadChart.Series(
                    name,
                    [.. ladder.Steps.Select(s => s.Multiple)],
                    [.. ladder.Steps.Select(s => s.Figures[k].Goodput / capacity)],
                    [.. ladder.Steps.Select(s => s.Figures[k].AdmittedLatency.Count == 0 ? double.NaN : s.Figures[k].AdmittedLatency.P99)]));
            }
        }

        var subtitle = string.Create(CultureInfo.InvariantCulture,
            $"1× = reads {readCapacity:N0}/s, creates {createCapacity:N0}/s; {options.OverloadSeconds:0.#} s per phase; {Environment.ProcessorCount} cores, load generator included");
        OverloadChart.Write(path, subtitle, ReadP99Ms, CreateP99Ms, series);
        Console.WriteLine();
        Console.WriteLine($"chart: {Path.GetFullPath(path)}");
    }

    private void PrintTargets(IReadOnlyList<Ladder> ladders, StreamFigures alone, StreamFigures beside, ReconciliationResult reconciliation, ProcessChanges overall)
    {
        var all = phases.SelectMany(p => p.Figures.Select(f => (Phase: p.Name, Figures: f))).ToList();

        Console.WriteLine();
        Console.WriteLine("Targets (overload)");
        var changed = phases.Where(p => !p.Changes.None).Select(p => $"{p.Name}: {p.Changes.Describe()}").ToList();
        if (!overall.None)
        {
            changed.Add($"over the section: {overall.Describe()}");
        }

        Targets.Print("no process exits or restarts", changed.Count == 0 ? $"none in {phases.Count} phases" : string.Join("; ", changed), changed.Count == 0);

        var kept = ladders.SelectMany(l => Enumerable.Range(0, l.Steps[0].Figures.Count).SelectMany(k => l.Steps.Where(s => s.Multiple > 1)
            .Select(s => (Where: s.Figures[k].Label, Share: s.Figures[k].Goodput / l.Steps.First(x => x.Multiple == 1).Figures[k].Goodput)))).ToList();
        var lowest = kept.OrderBy(k => double.IsNaN(k.Share) ? double.MinValue : k.Share).FirstOrDefault();
        Targets.Print("goodput at 2× and 4× ≥ 90 % of 1×", kept.Count == 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"lowest {lowest.Share:P0} ({lowest.Where})"),
            kept.Count > 0 && kept.All(k => k.Share >= GoodputShare));

        foreach (var (operation, limit, what) in new[] { (Operation.Read, ReadP99Ms, "reads"), (Operation.Create, CreateP99Ms, "creates") })
        {
            var measured = all.Where(a => a.Figures.Operation == operation && a.Figures.AdmittedLatency.Count > 0).ToList();
            var worst = measured.OrderByDescending(a => a.Figures.AdmittedLatency.P99).FirstOrDefault();
            Targets.Print(string.Create(CultureInfo.InvariantCulture, $"admitted p99 ≤ {limit:0} ms, {what}"),
                measured.Count == 0 ? "none admitted" : string.Create(CultureInfo.InvariantCulture, $"worst {worst.Figures.AdmittedLatency.P99:F1} ms ({worst.Figures.Label})"),
                measured.Count > 0 && worst.Figures.AdmittedLatency.P99 <= limit);
        }

        var refusals = all.Sum(a => a.Figures.Overloaded);
        var withoutRetryAfter = all.Sum(a => a.Figures.OverloadedWithoutRetryAfter);
        Targets.Print("refusals: 503 + Retry-After + code", refusals == 0 ? "no \"overloaded\" refusal at all"
                : string.Create(CultureInfo.InvariantCulture, $"{refusals:N0}, {(withoutRetryAfter == 0 ? "all with Retry-After" : $"{withoutRetryAfter:N0} without Retry-After")}"),
            refusals > 0 && withoutRetryAfter == 0);
        var refused = all.Where(a => a.Figures.RefusalLatency.Count > 0).OrderByDescending(a => a.Figures.RefusalLatency.P99).ToList();
        Targets.Print(string.Create(CultureInfo.InvariantCulture, $"refusals within {RefusalP99Ms:0} ms (p99)"),
            refused.Count == 0 ? "no refusal" : string.Create(CultureInfo.InvariantCulture,
                $"worst {refused[0].Figures.RefusalLatency.P99:F1} ms ({refused[0].Figures.Label}; the generator's own send lag p99 {refused[0].Figures.SendLag.P99:F1} ms)"),
            refused.Count > 0 && refused[0].Figures.RefusalLatency.P99 <= RefusalP99Ms);

        var (goodput, p99) = (beside.Goodput / alone.Goodput, beside.AdmittedLatency.P99 / alone.AdmittedLatency.P99);
        Targets.Print("reads under write overload", string.Create(CultureInfo.InvariantCulture, $"goodput {goodput:P0} (≥ {IsolationGoodputShare:P0}), p99 {Ratio(p99)} (≤ {IsolationP99Ratio:0}×)"),
            goodput >= IsolationGoodputShare && p99 <= IsolationP99Ratio);

        var recoveries = ladders.SelectMany(l => l.Recovery.Figures.Select((f, k) => (Where: f.Label, Ratio: f.FirstSecondsLatency.P99 / l.Steps[0].Figures[k].AdmittedLatency.P99))).ToList();
        var slowest = recoveries.OrderByDescending(r => double.IsNaN(r.Ratio) ? double.MaxValue : r.Ratio).FirstOrDefault();
        Targets.Print(string.Create(CultureInfo.InvariantCulture, $"recovery: p99 in {StreamFigures.SecondsReported} s ≤ {RecoveryRatio:0.0}× before"),
            recoveries.Count == 0 ? "-" : $"worst {Ratio(slowest.Ratio)} ({slowest.Where})", recoveries.Count > 0 && recoveries.All(r => r.Ratio <= RecoveryRatio));

        Targets.Print("reconciliation clean", reconciliation.Clean ? "yes" : string.Create(CultureInfo.InvariantCulture,
            $"{reconciliation.UnreadableCount:N0} 2xx creates not readable, {reconciliation.Overloaded.Created:N0} refused creates created, {reconciliation.Overloaded.Unknown.Values.Sum():N0} unchecked"), reconciliation.Clean);

        var limited = all.Where(a => a.Figures.GeneratorLimited).ToList();
        if (limited.Count > 0)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"The generator could not send at the offered rate in: {string.Join(", ", limited.Select(a => $"{a.Figures.Label} (offered {a.Figures.Offered:N0}/s, sent {a.Figures.SentPerSecond:N0}/s)"))}: the system did not get those loads."));
        }
    }

    /// <summary>One operation's (or the mix's) phases at each multiple of capacity, and its recovery.</summary>
    private sealed record Ladder(string Name, IReadOnlyList<OverloadPhase> Steps, OverloadPhase Recovery);
}
