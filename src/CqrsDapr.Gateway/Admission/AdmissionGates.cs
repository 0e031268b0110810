using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace CqrsDapr.Gateway.Admission;

/// <summary>The two sides' concurrency limiters, one gate each, made once from the settings.</summary>
internal sealed class AdmissionGates : IDisposable
{
    private readonly AdmissionGate reads;
    private readonly AdmissionGate writes;

    public AdmissionGates(IOptions<GatewayOptions> options, [FromKeyedServices(AdmissionServices.ClockKey)] TimeProvider clock)
    {
        var settings = options.Value.Admission;
        reads = new AdmissionGate(AdmissionSide.Reads, settings.Reads, clock);
        writes = new AdmissionGate(AdmissionSide.Writes, settings.Writes, clock);
    }

    public IEnumerable<AdmissionGate> All => [reads, writes];

    public AdmissionGate For(AdmissionSide side) => side == AdmissionSide.Reads ? reads : writes;

    public void Dispose()
    {
        reads.Dispose();
        writes.Dispose();
    }
}

/// <summary>
/// One side's limiter: <see cref="SideLimits.ConcurrencyLimit"/> requests forwarded at once, up to
/// <see cref="SideLimits.QueueLimit"/> more waiting oldest first; a request that finds the queue full gets a failed lease
/// at once (the limiter never waits for it), so the excess is refused without delay.
/// </summary>
internal sealed class AdmissionGate(AdmissionSide side, SideLimits limits, TimeProvider clock) : IDisposable
{
    /// <summary>A flood of refusals makes at most one warning per side in this time.</summary>
    public static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(10);

    private const long NeverReported = long.MinValue;

    private readonly ConcurrencyLimiter limiter = new(new ConcurrencyLimiterOptions
    {
        PermitLimit = limits.ConcurrencyLimit,
        QueueLimit = limits.QueueLimit,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
    });

    private long unreported;
    private long lastReport = NeverReported;

    public AdmissionSide Side => side;

    public SideLimits Limits => limits;

    public long InFlight => limits.ConcurrencyLimit - (limiter.GetStatistics()?.CurrentAvailablePermits ?? limits.ConcurrencyLimit);

    public long Queued => limiter.GetStatistics()?.CurrentQueuedCount ?? 0;

    /// <summary>A lease that must be disposed when the request is done; not acquired when the side is full.</summary>
    /// <exception cref="OperationCanceledException">The client went away while its request waited in the queue.</exception>
    public ValueTask<RateLimitLease> EnterAsync(CancellationToken cancellationToken) => limiter.AcquireAsync(1, cancellationToken);

    /// <summary>
    /// Counts a refusal; returns how many to report now (every refusal since the last report), or 0 while the last
    /// report is younger than <see cref="ReportInterval"/>.
    /// </summary>
    public long Refused()
    {
        Interlocked.Increment(ref unreported);
        var now = clock.GetTimestamp();
        var last = Interlocked.Read(ref lastReport);
        if (last != NeverReported && clock.GetElapsedTime(last, now) < ReportInterval)
        {
            return 0;
        }

        return Interlocked.CompareExchange(ref lastReport, now, last) == last ? Interlocked.Exchange(ref unreported, 0) : 0;
    }

    public void Dispose() => limiter.Dispose();
}
