using CqrsDapr.Contracts;
using CqrsDapr.Contracts.Products;
using CqrsDapr.QueryService.Products;
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
/// Applies product events to the view store: read the view and its ETag, let <see cref="ProductProjector"/> decide,
/// save first-write-wins. A concurrent writer (another delivery, another replica) makes the save fail; then the view is
/// read again and the decision taken again, a bounded number of times before asking Dapr to redeliver later.
/// Live events go to every writable generation (<see cref="ViewGenerations"/>); metrics and the consistency signal
/// follow the served one. Store failures propagate (the endpoint answers RETRY).
/// </summary>
internal sealed partial class ProductProjection(
    ViewGenerations generations,
    ViewChanges changes,
    ProjectionMetrics metrics,
    ProjectionLag lag,
    TimeProvider time,
    ILogger<ProductProjection> logger)
{
    public const int MaxAttempts = 8;

    private static readonly IReadOnlyDictionary<Guid, StoredView> NothingStored = new Dictionary<Guid, StoredView>();

    /// <summary>One live event, into every writable generation.</summary>
    public async Task<ProjectionOutcome> ProjectAsync(EventEnvelope envelope, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        if (ProductProjector.Validate(envelope) is { } invalid)
        {
            Count(envelope, Dropped(envelope.EventId.ToString(), invalid.Reason));
            return ProjectionOutcome.Dropped;
        }

        await generations.EnsureLoadedAsync(cancellationToken);
        using var write = generations.BeginWrite();
        var stores = write.Stores;
        var outcome = await ApplyAsync(envelope, stores[0], cancellationToken);
        if (Count(envelope, outcome) is { } applied)
        {
            lag.BatchApplied(applied);
        }

        for (var i = 1; i < stores.Count && outcome != ProjectionOutcome.Retry; i++)
        {
            if (await ApplyAsync(envelope, stores[i], cancellationToken) == ProjectionOutcome.Retry)
            {
                outcome = ProjectionOutcome.Retry;
            }
        }

        return outcome;
    }

    /// <summary>
    /// A batch of live events (one bulk delivery), into every writable generation: one outcome per event, in order.
    /// </summary>
    public async Task<IReadOnlyList<ProjectionOutcome>> ProjectAsync(IReadOnlyList<EventEnvelope> envelopes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(envelopes);
        await generations.EnsureLoadedAsync(cancellationToken);
        using var write = generations.BeginWrite();
        var stores = write.Stores;
        var outcomes = await ProjectBatchAsync(envelopes, stores[0], live: true, cancellationToken);
        for (var i = 1; i < stores.Count; i++)
        {
            var more = await ProjectBatchAsync(envelopes, stores[i], live: false, cancellationToken);
            outcomes = [.. outcomes.Zip(more, (a, b) => b == ProjectionOutcome.Retry ? b : a)];
        }

        return outcomes;
    }

    /// <summary>
    /// Events in bulk into one generation's store: one read of every view concerned, the events folded in memory, one
    /// bulk save. If the save loses any race (bulk saves are not atomic) the batch is redone event by event, which is
    /// idempotent: what the bulk save did write is then already applied. With <paramref name="live"/> the outcomes
    /// are counted in the metrics and signalled to waiting reads.
    /// </summary>
    public async Task<IReadOnlyList<ProjectionOutcome>> ProjectBatchAsync(
        IReadOnlyList<EventEnvelope> envelopes, IProductViewStore store, bool live, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(envelopes);
        ArgumentNullException.ThrowIfNull(store);
        var outcomes = new ProjectionOutcome[envelopes.Count];
        var byProduct = new Dictionary<Guid, List<int>>();
        for (var i = 0; i < envelopes.Count; i++)
        {
            if (ProductProjector.Validate(envelopes[i]) is { } invalid)
            {
                outcomes[i] = live ? Dropped(envelopes[i].EventId.ToString(), invalid.Reason) : ProjectionOutcome.Dropped;
                continue;
            }

            var id = Guid.Parse(envelopes[i].AggregateId);
            if (!byProduct.TryGetValue(id, out var indexes))
            {
                byProduct[id] = indexes = [];
            }

            indexes.Add(i);
        }

        // A product created in this batch has no view unless the creation was applied before (a redelivery): it is not
        // read, and its save is insert-only, which fails if a view is there after all; the batch is then redone event
        // by event, with reads. The outcome is the same either way, and a batch of new products costs no read.
        var toRead = byProduct.Where(p => !p.Value.Any(i => IsCreation(envelopes[i]))).Select(p => p.Key).ToList();
        var stored = toRead.Count == 0 ? NothingStored : await store.GetManyAsync(toRead, cancellationToken);
        var saves = new List<(ProductView View, string? ETag)>(byProduct.Count);
        foreach (var (id, indexes) in byProduct)
        {
            var original = stored.GetValueOrDefault(id);
            var view = original?.View;
            foreach (var i in indexes)
            {
                switch (ProductProjector.Project(view, envelopes[i]))
                {
                    case ProjectionDecision.Apply apply:
                        view = apply.View;
                        outcomes[i] = ProjectionOutcome.Applied;
                        break;
                    case ProjectionDecision.Drop drop:
                        outcomes[i] = live ? Dropped(envelopes[i].EventId.ToString(), drop.Reason) : ProjectionOutcome.Dropped;
                        break;
                    default:
                        outcomes[i] = ProjectionOutcome.AlreadyApplied;
                        break;
                }
            }

            if (view is not null && !ReferenceEquals(view, original?.View))
            {
                saves.Add((view, original?.ETag));
            }
        }

        if (!await store.TrySaveManyAsync(saves, cancellationToken))
        {
            LogBatchRedone(logger, envelopes.Count, store.Generation);
            for (var i = 0; i < envelopes.Count; i++)
            {
                if (outcomes[i] != ProjectionOutcome.Dropped)
                {
                    outcomes[i] = await ApplyAsync(envelopes[i], store, cancellationToken);
                }
            }
        }

        if (live)
        {
            TimeSpan? slowest = null;
            for (var i = 0; i < envelopes.Count; i++)
            {
                if (Count(envelopes[i], outcomes[i]) is { } applied && (slowest is null || applied > slowest))
                {
                    slowest = applied;
                }
            }

            if (slowest is { } batchLag)
            {
                lag.BatchApplied(batchLag);
            }

            foreach (var (view, _) in saves)
            {
                changes.Published(view.Id);
            }
        }

        return outcomes;
    }

    /// <summary>
    /// One valid event into one store, with the ETag retry loop. A creation is first saved without a read, insert-only
    /// (see <see cref="ProjectBatchAsync"/>): if a view is there already, the loop reads it and decides as usual.
    /// </summary>
    private async Task<ProjectionOutcome> ApplyAsync(EventEnvelope envelope, IProductViewStore store, CancellationToken cancellationToken)
    {
        var id = Guid.Parse(envelope.AggregateId);
        var read = !IsCreation(envelope);
        for (var attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            var stored = read ? await store.GetAsync(id, cancellationToken) : null;
            read = true;
            switch (ProductProjector.Project(stored?.View, envelope))
            {
                case ProjectionDecision.Drop drop:
                    return Dropped(envelope.EventId.ToString(), drop.Reason);
                case ProjectionDecision.AlreadyApplied:
                    return ProjectionOutcome.AlreadyApplied;
                case ProjectionDecision.Apply apply when await store.TrySaveAsync(apply.View, stored?.ETag, cancellationToken):
                    changes.Published(id);
                    return ProjectionOutcome.Applied;
                default:
                    LogConflict(logger, id, envelope.AggregateVersion, attempt);
                    break;
            }
        }

        return ProjectionOutcome.Retry;
    }

    /// <summary>The product's first event: no view can be older than it, so if any view is stored, this one is applied.</summary>
    private static bool IsCreation(EventEnvelope envelope) =>
        envelope.AggregateVersion == 1 && envelope.EventType == ProductCreated.EventType;

    /// <summary>Counts the outcome in the metrics; for an applied event, returns its lag (occurred-at → saved).</summary>
    private TimeSpan? Count(EventEnvelope envelope, ProjectionOutcome outcome)
    {
        switch (outcome)
        {
            case ProjectionOutcome.Applied:
                var sinceOccurred = time.GetUtcNow() - envelope.OccurredAt;
                metrics.Applied(sinceOccurred);
                return sinceOccurred;
            case ProjectionOutcome.AlreadyApplied:
                metrics.Ignored();
                return null;
            case ProjectionOutcome.Dropped:
                metrics.Dropped();
                return null;
            default:
                return null;
        }
    }

    /// <summary>For a delivery whose data is not an event envelope at all.</summary>
    public ProjectionOutcome Unreadable(string reason)
    {
        metrics.Dropped();
        return Dropped("(unreadable)", reason);
    }

    private ProjectionOutcome Dropped(string eventId, string reason)
    {
        LogDropped(logger, eventId, reason);
        return ProjectionOutcome.Dropped;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropping product event {EventId} (it goes to the dead-letter topic): {Reason}")]
    private static partial void LogDropped(ILogger logger, string eventId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "A bulk save of {Count} events into generation {Generation} lost a race or failed; applying them one by one")]
    private static partial void LogBatchRedone(ILogger logger, int count, int generation);

    [LoggerMessage(Level = LogLevel.Debug, Message = "View {Id} changed while applying v{Version} (attempt {Attempt}); reading it again")]
    private static partial void LogConflict(ILogger logger, Guid id, long version, int attempt);
}
