using System.Diagnostics;

namespace CqrsDapr.Benchmarks;

/// <summary>
/// Fixed arrival rate (open loop): request i is due at start + i / rate whatever the answers before it do, so a slow
/// system meets a growing queue instead of a politely slower client. A dedicated thread computes the due times from
/// a <see cref="Stopwatch"/>, sleeps until the next one (the OS wakes it within about a millisecond) and then starts
/// every request that is due. Each request is handed its intended send time: latency counted from there includes any
/// wait for the scheduler or for a connection, so coordinated omission is not hidden.
/// </summary>
internal static class OpenLoop
{
    /// <summary>
    /// Starts <paramref name="count"/> requests at <paramref name="rate"/> per second, then waits for all of them.
    /// <paramref name="send"/> gets the request's index and intended send time (a Stopwatch timestamp) and must not throw.
    /// Returns the timestamps of the first due time and of the last answer.
    /// </summary>
    public static async Task<(long Start, long End)> RunAsync(int count, double rate, Func<int, long, Task> send)
    {
        var run = Start(count, rate, send);
        var start = await run.Sent;
        await run.Answered;
        return (start, Stopwatch.GetTimestamp());
    }

    /// <summary>
    /// Starts sending as <see cref="RunAsync"/> does and returns at once: <see cref="OpenLoopRun.Sent"/> completes
    /// with the first due time when the last request has been started, <see cref="OpenLoopRun.Answered"/> when every
    /// request has its answer. The next load can begin when the sending ends, while this one's answers are still due.
    /// </summary>
    public static OpenLoopRun Start(int count, double rate, Func<int, long, Task> send)
    {
        var requests = new Task[count];
        var scheduled = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var scheduler = new Thread(() =>
        {
            try
            {
                scheduled.SetResult(Schedule(requests, rate, send));
            }
            catch (Exception exception)
            {
                scheduled.SetException(exception);
            }
        })
        {
            IsBackground = true,
            Name = "open-loop scheduler",
            Priority = ThreadPriority.AboveNormal,
        };
        scheduler.Start();
        return new OpenLoopRun(scheduled.Task, AnsweredAsync(scheduled.Task, requests));
    }

    private static async Task AnsweredAsync(Task<long> scheduled, Task[] requests)
    {
        await scheduled;
        await Task.WhenAll(requests);
    }

    private static long Schedule(Task[] requests, double rate, Func<int, long, Task> send)
    {
        var interval = Stopwatch.Frequency / rate;
        var start = Stopwatch.GetTimestamp();
        var i = 0;
        while (i < requests.Length)
        {
            var now = Stopwatch.GetTimestamp();
            for (var due = start + (long)(i * interval); due <= now && i < requests.Length; due = start + (long)(i * interval))
            {
                requests[i] = send(i, due);
                i++;
            }

            if (i < requests.Length)
            {
                var wait = start + (long)(i * interval) - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    // Whole milliseconds, at least one: the sends due meanwhile go out together on waking.
                    Thread.Sleep(Math.Max(1, (int)(wait * 1000 / Stopwatch.Frequency)));
                }
            }
        }

        return start;
    }
}

/// <summary>An open loop under way: <see cref="Sent"/> gives the first due time once every request is started.</summary>
internal sealed record OpenLoopRun(Task<long> Sent, Task Answered);
