using System.Globalization;

namespace CqrsDapr.Benchmarks;

/// <summary>
/// The system's speed targets (issue 13), production-shaped, on this machine, with the load generator on the same cores:
/// each printed with what was measured and whether it was met. A target whose phase did not run prints "-", missed.
/// </summary>
internal static class SystemTargets
{
    private const int CreateRate = 1500;
    private const double CreateSeconds = 60;
    private const double CreateP99Ms = 50;
    private const double CatchUpSeconds = 1;
    private const double CreateCpuUs = 1200;
    private const double GetCpuUs = 250;
    private const int GetWorkers = 32;
    private const double GetsPerSecond = 6000;
    private const double GetP99Ms = 20;
    private const double IdlePercent = 2;

    public static void Print(SystemBenchmark benchmark, (string Role, double Mb)? largestService)
    {
        Console.WriteLine();
        Console.WriteLine("Targets");
        var strict = benchmark.Steps.Where(Strict).ToList();
        var best = strict.MaxBy(s => s.Rate);
        Targets.Print(
            Invariant($"creates ≥ {CreateRate:N0}/s for {CreateSeconds:0} s, p99 ≤ {CreateP99Ms:0} ms, no error, visible ≤ {CatchUpSeconds:0} s after"),
            best is null ? "no step met p99, errors and catch-up together"
                : Invariant($"best {best.Rate:N0}/s × {best.Seconds:0} s (p99 {best.Latency.P99:F0} ms, visible {best.CatchUpSeconds:F2} s after)"),
            best is { Rate: >= CreateRate, Seconds: >= CreateSeconds - 1 });

        // Cost per create at the highest step whose creates were all accepted (else the first step).
        var costed = benchmark.Steps.Where(s => s.AllAccepted).MaxBy(s => s.Rate) ?? (benchmark.Steps.Count > 0 ? benchmark.Steps[0] : null);
        var createUs = costed is null ? double.NaN : PerOperation(costed.WithCatchUp.SystemSeconds, costed.Accepted);
        Targets.Print(
            Invariant($"CPU per create incl. projection ≤ {CreateCpuUs / 1000:0.0#} ms"),
            costed is null ? "-" : Invariant($"{createUs / 1000:F2} ms at {costed.Rate}/s (without Aspire {PerOperation(costed.WithCatchUp.SecondsWithoutAspire, costed.Accepted) / 1000:F2})"),
            createUs <= CreateCpuUs);

        var get = benchmark.Gets.FirstOrDefault(g => g.Workers == GetWorkers);
        var getUs = get is null ? double.NaN : PerOperation(get.Cpu.SystemSeconds, get.Requests);
        Targets.Print(
            Invariant($"CPU per GET by id ≤ {GetCpuUs / 1000:0.00} ms"),
            get is null ? Invariant($"- (no run with {GetWorkers} workers)") : Invariant($"{getUs / 1000:F3} ms (without Aspire {PerOperation(get.Cpu.SecondsWithoutAspire, get.Requests) / 1000:F3})"),
            getUs <= GetCpuUs);
        Targets.Print(
            Invariant($"GET by id ≥ {GetsPerSecond:N0}/s, {GetWorkers} clients, p99 ≤ {GetP99Ms:0} ms"),
            get is null ? "-" : Invariant($"{get.PerSecond:N0}/s, p99 {get.Latency.P99:F1} ms"),
            get is not null && get.Failures == 0 && get.PerSecond >= GetsPerSecond && get.Latency.P99 <= GetP99Ms);

        LagTarget(benchmark, rate => rate <= 100, "at ≤ 100 writes/s: p50 ≤ 10 ms, p99 ≤ 40 ms", l => l.P50 <= 10 && l.P99 <= 40);
        LagTarget(benchmark, rate => rate >= 1000, "at ≥ 1,000 writes/s: p99 ≤ 150 ms", l => l.P99 <= 150);

        var idle = benchmark.Idle;
        var idlePercent = idle is null ? double.NaN : idle.Percent(idle.SecondsWithoutAspire);
        Targets.Print(Invariant($"idle system (settled), not Aspire, ≤ {IdlePercent:0} % of a core"), idle is null ? "-" : Invariant($"{idlePercent:F1} %"), idlePercent <= IdlePercent);
        Targets.Print(
            Invariant($"peak RSS of each service ≤ {MemoryReport.ServiceLimitMb:0} MB"),
            largestService is { } peak ? Invariant($"largest {peak.Role} {peak.Mb:F0} MB") : "no service process found",
            largestService is { } largest && largest.Mb <= MemoryReport.ServiceLimitMb);
    }

    /// <summary>Every create accepted at ≥ 95 % of the rate, p99 within the target, and the last one visible in time.</summary>
    private static bool Strict(CreateStep step) =>
        step.AllAccepted && step.PerSecond >= 0.95 * step.Rate && step.Latency.P99 <= CreateP99Ms && step.Visible && step.CatchUpSeconds <= CatchUpSeconds;

    private static void LagTarget(SystemBenchmark benchmark, Func<int, bool> applies, string what, Func<Latencies, bool> met)
    {
        var phase = benchmark.Lags.LastOrDefault(l => applies(l.Rate));
        Targets.Print(
            "consistency lag " + what,
            phase is null ? "- (no such lag phase: --lag-rate)"
                : Invariant($"{phase.Rate}/s: p50 {phase.Lag.P50:F1} ms, p99 {phase.Lag.P99:F1} ms{(phase.NeverVisible > 0 ? $", {phase.NeverVisible} never visible" : "")}"),
            phase is not null && phase.Lag.Count > 0 && phase.NeverVisible == 0 && met(phase.Lag));
    }

    private static double PerOperation(double seconds, int operations) => operations > 0 ? seconds * 1e6 / operations : double.NaN;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
