using System.Threading.RateLimiting;
using CqrsDapr.Gateway.Refusals;
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
    private readonly ConcurrencyLimiter limiter = new(new ConcurrencyLimiterOptions
    {
        PermitLimit = limits.ConcurrencyLimit,
        QueueLimit = limits.QueueLimit,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
    });

    private readonly RefusalReports reports = new(clock);

    public AdmissionSide Side => side;

    public SideLimits Limits => limits;

    public long InFlight => limits.ConcurrencyLimit - (limiter.GetStatistics()?.CurrentAvailablePermits ?? limits.ConcurrencyLimit);

    public long Queued => limiter.GetStatistics()?.CurrentQueuedCount ?? 0;

    /// <summary>A lease that must be disposed when the request is done; not acquired when the side is full.</summary>
    /// <exception cref="OperationCanceledException">The client went away while its request waited in the queue.</exception>
    public ValueTask<RateLimitLease> EnterAsync(CancellationToken cancellationToken) => limiter.AcquireAsync(1, cancellationToken);

    /// <summary>Counts a refusal; how many to report now (<see cref="RefusalReports"/>: one warning per side at most).</summary>
    public long Refused() => reports.Refused();

    public void Dispose() => limiter.Dispose();
}
