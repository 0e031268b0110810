using System.Diagnostics;
using System.Globalization;

namespace CqrsDapr.Benchmarks;

/// <summary>Percentiles (nearest rank) of durations recorded as <see cref="Stopwatch"/> ticks.</summary>
internal readonly record struct Latencies(int Count, double P50, double P95, double P99, double Max)
{
    /// <summary>Column titles matching <see cref="ToString"/>.</summary>
    public const string Header = "    p50 ms   p95 ms   p99 ms   max ms";

    /// <summary>Sorts <paramref name="ticks"/> in place; negative entries (not measured) are left out.</summary>
    public static Latencies Of(long[] ticks)
    {
        Array.Sort(ticks);
        var first = Array.FindIndex(ticks, t => t >= 0);
        if (first < 0)
        {
            return default;
        }

        var measured = new ArraySegment<long>(ticks, first, ticks.Length - first);
        return new Latencies(measured.Count, Rank(measured, 0.50), Rank(measured, 0.95), Rank(measured, 0.99), Milliseconds(measured[^1]));
    }

    public static double Milliseconds(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    public override string ToString() => Count == 0
        ? $"{"-",10}{"-",9}{"-",9}{"-",9}"
        : string.Create(CultureInfo.InvariantCulture, $"{P50,10:F1}{P95,9:F1}{P99,9:F1}{Max,9:F1}");

    private static double Rank(ArraySegment<long> sorted, double p) =>
        Milliseconds(sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)]);
}
