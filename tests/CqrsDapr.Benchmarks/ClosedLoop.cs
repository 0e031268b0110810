using System.Diagnostics;

namespace CqrsDapr.Benchmarks;

/// <summary>
/// Closed loop, for the overload section's capacity probe: each worker sends its next request when the previous answer
/// came, until the time is up, so the system runs as fast as it can and never builds a queue beyond the workers.
/// </summary>
internal static class ClosedLoop
{
    /// <summary>
    /// Runs <paramref name="workers"/> workers for <paramref name="seconds"/>; <paramref name="send"/> gets the
    /// worker's request number (0, 1, ... across all workers). Returns the 2xx answers per second and their latency.
    /// </summary>
    public static async Task<(double PerSecond, int Admitted, int Requests, Latencies Latency)> RunAsync(int workers, double seconds, Func<int, Task<Answer>> send)
    {
        var next = -1;
        var stopAt = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        var latencies = new List<long>[workers];
        var requests = new int[workers];
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(async w =>
        {
            var admitted = latencies[w] = new List<long>(capacity: 1024);
            while (Stopwatch.GetTimestamp() < stopAt)
            {
                var sent = Stopwatch.GetTimestamp();
                var answer = await send(Interlocked.Increment(ref next));
                requests[w]++;
                if (answer.IsAdmitted)
                {
                    admitted.Add(Stopwatch.GetTimestamp() - sent);
                }
            }
        }));
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var all = latencies.SelectMany(l => l).ToArray();
        return (all.Length / elapsed, all.Length, requests.Sum(), Latencies.Of(all));
    }
}
