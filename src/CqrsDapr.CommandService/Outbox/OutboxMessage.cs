namespace CqrsDapr.CommandService.Outbox;

/// <summary>
/// One integration event, written in the same transaction as the aggregate change that raised it. Rows are kept after
/// publishing (the outbox doubles as the event log views are rebuilt from); <see cref="PublishedAt"/> null means
/// "not yet published", which is what the relay selects on — never a high-water mark of <see cref="Sequence"/>,
/// because sequences commit out of order.
/// </summary>
internal sealed class OutboxMessage
{
    /// <summary>Global order of insertion (bigint identity).</summary>
    public long Sequence { get; set; }

    public Guid EventId { get; set; }

    public required string AggregateType { get; set; }

    public required string AggregateId { get; set; }

    public long AggregateVersion { get; set; }

    public required string EventType { get; set; }

    public int SchemaVersion { get; set; }

    /// <summary>The event (the envelope's <c>data</c>) as JSON, stored as jsonb.</summary>
    public required string Payload { get; set; }

    public DateTimeOffset OccurredAt { get; set; }

    public string? CorrelationId { get; set; }

    public string? CausationId { get; set; }

    /// <summary>W3C trace context of the command that raised the event, so one trace spans command → relay → query.</summary>
    public string? TraceParent { get; set; }

    public string? TraceState { get; set; }

    public DateTimeOffset? PublishedAt { get; set; }

    public int Attempts { get; set; }

    /// <summary>After a failed publish: not before this time (backoff).</summary>
    public DateTimeOffset? NextAttemptAt { get; set; }

    public string? LastError { get; set; }
}
