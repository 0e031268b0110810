namespace CqrsDapr.Gateway.Refusals;

/// <summary>
/// Turns a flood of refusals into at most one log report per <see cref="Interval"/>, with the count since the last
/// one: a client or an overload that makes thousands of refusals a second must not make as many log lines (the metrics
/// count every refusal).
/// </summary>
internal sealed class RefusalReports(TimeProvider clock)
{
    /// <summary>At most one report per kind of refusal in this time.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    private const long NeverReported = long.MinValue;

    private long unreported;
    private long lastReport = NeverReported;

    /// <summary>
    /// Counts a refusal; returns how many to report now (every refusal since the last report), or 0 while the last
    /// report is younger than <see cref="Interval"/>.
    /// </summary>
    public long Refused()
    {
        Interlocked.Increment(ref unreported);
        var now = clock.GetTimestamp();
        var last = Interlocked.Read(ref lastReport);
        if (last != NeverReported && clock.GetElapsedTime(last, now) < Interval)
        {
            return 0;
        }

        return Interlocked.CompareExchange(ref lastReport, now, last) == last ? Interlocked.Exchange(ref unreported, 0) : 0;
    }
}
