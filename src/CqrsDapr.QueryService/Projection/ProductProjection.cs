using CqrsDapr.Contracts;
using CqrsDapr.QueryService.Views;

namespace CqrsDapr.QueryService.Projection;

/// <summary>How one delivery ended, in Dapr's terms: SUCCESS (applied, already applied), DROP, or RETRY.</summary>
internal enum ProjectionOutcome
{
    Applied,
    AlreadyApplied,
    Dropped,
    Retry,
}

/// <summary>
/// Applies one product event to the view store: read the view and its ETag, let <see cref="ProductProjector"/> decide,
/// save first-write-wins. A concurrent writer (another delivery, another replica) makes the save fail; then the view is
/// read again and the decision taken again, a bounded number of times before asking Dapr to redeliver later.
/// Store failures propagate (the endpoint answers RETRY).
/// </summary>
internal sealed partial class ProductProjection(
    IProductViewStore store,
    ViewChanges changes,
    ProjectionMetrics metrics,
    TimeProvider time,
    ILogger<ProductProjection> logger)
{
    public const int MaxAttempts = 8;

    public async Task<ProjectionOutcome> ProjectAsync(EventEnvelope envelope, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        if (ProductProjector.Validate(envelope) is { } invalid)
        {
            return Dropped(envelope.EventId.ToString(), invalid.Reason);
        }

        var id = Guid.Parse(envelope.AggregateId);
        for (var attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            var stored = await store.GetAsync(id, cancellationToken);
            switch (ProductProjector.Project(stored?.View, envelope))
            {
                case ProjectionDecision.Drop drop:
                    return Dropped(envelope.EventId.ToString(), drop.Reason);
                case ProjectionDecision.AlreadyApplied:
                    metrics.Ignored();
                    return ProjectionOutcome.AlreadyApplied;
                case ProjectionDecision.Apply apply when await store.TrySaveAsync(apply.View, stored?.ETag, cancellationToken):
                    changes.Published(id);
                    metrics.Applied(time.GetUtcNow() - envelope.OccurredAt);
                    return ProjectionOutcome.Applied;
                default:
                    LogConflict(logger, id, envelope.AggregateVersion, attempt);
                    break;
            }
        }

        return ProjectionOutcome.Retry;
    }

    /// <summary>For a delivery whose data is not an event envelope at all.</summary>
    public ProjectionOutcome Unreadable(string reason) => Dropped("(unreadable)", reason);

    private ProjectionOutcome Dropped(string eventId, string reason)
    {
        metrics.Dropped();
        LogDropped(logger, eventId, reason);
        return ProjectionOutcome.Dropped;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropping product event {EventId} (it goes to the dead-letter topic): {Reason}")]
    private static partial void LogDropped(ILogger logger, string eventId, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "View {Id} changed while applying v{Version} (attempt {Attempt}); reading it again")]
    private static partial void LogConflict(ILogger logger, Guid id, long version, int attempt);
}
