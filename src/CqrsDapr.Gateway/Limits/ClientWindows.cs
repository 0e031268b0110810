using System.Runtime.InteropServices;

namespace CqrsDapr.Gateway.Limits;

/// <summary>
/// A fixed window of requests per client, counted without a timer: a client's window opens with its first request and
/// is replaced by a new one at its first request after the window has ended.
/// </summary>
/// <remarks>
/// ASP.NET Core's partitioned limiters run a 100 ms timer each (and the rate-limiting middleware keeps two), which
/// wakes the thread pool 20 times a second on an idle gateway. Here, time is read only when a request comes, and
/// ended windows are swept by the first request after each window length, so the map holds the clients seen within
/// about two windows.
/// </remarks>
internal sealed class ClientWindows
{
    private readonly Dictionary<string, Window> windows = new(StringComparer.Ordinal);
    private readonly Lock gate = new();
    private readonly int permitLimit;
    private readonly long windowTicks;
    private readonly TimeProvider time;
    private long nextSweep;

    public ClientWindows(int permitLimit, TimeSpan window, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(permitLimit);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        this.permitLimit = permitLimit;
        this.time = time;
        windowTicks = (long)(window.TotalSeconds * time.TimestampFrequency);
        nextSweep = time.GetTimestamp() + windowTicks;
    }

    /// <summary>How many clients have a window (ended ones included until the next sweep).</summary>
    public int Count
    {
        get
        {
            lock (gate)
            {
                return windows.Count;
            }
        }
    }

    /// <summary>Takes one permit from the client's window; when none is left, says how long until its window ends.</summary>
    public bool TryAcquire(string client, out TimeSpan retryAfter)
    {
        var now = time.GetTimestamp();
        lock (gate)
        {
            if (now >= nextSweep)
            {
                Sweep(now);
            }

            ref var window = ref CollectionsMarshal.GetValueRefOrAddDefault(windows, client, out var existed);
            if (!existed || now - window.Start >= windowTicks)
            {
                window = new Window(now, 0);
            }

            if (window.Taken < permitLimit)
            {
                window = window with { Taken = window.Taken + 1 };
                retryAfter = TimeSpan.Zero;
                return true;
            }

            retryAfter = TimeSpan.FromSeconds((double)(window.Start + windowTicks - now) / time.TimestampFrequency);
            return false;
        }
    }

    private void Sweep(long now)
    {
        foreach (var (client, window) in windows)
        {
            if (now - window.Start >= windowTicks)
            {
                windows.Remove(client);
            }
        }

        nextSweep = now + windowTicks;
    }

    private readonly record struct Window(long Start, int Taken);
}
