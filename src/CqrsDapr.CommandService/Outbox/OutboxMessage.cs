using System.Diagnostics;
using System.Text.Json;
using CqrsDapr.Contracts;

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

    /// <summary>
    /// The row for <paramref name="event"/>, raised by version <paramref name="aggregateVersion"/> of its aggregate,
    /// carrying the current trace context. Add it to the same <c>DbContext</c> and transaction as the aggregate change.
    /// </summary>
    public static OutboxMessage For<TEvent>(
        TEvent @event,
        string aggregateId,
        long aggregateVersion,
        DateTimeOffset occurredAt,
        string? correlationId,
        string? causationId)
        where TEvent : IIntegrationEvent
    {
        var activity = Activity.Current;
        return new OutboxMessage
        {
            EventId = Guid.CreateVersion7(occurredAt),
            AggregateType = TEvent.AggregateType,
            AggregateId = aggregateId,
            AggregateVersion = aggregateVersion,
            EventType = TEvent.EventType,
            SchemaVersion = TEvent.SchemaVersion,
            Payload = JsonSerializer.Serialize(@event, ContractsJson.Default.GetTypeInfo(typeof(TEvent))!),
            OccurredAt = occurredAt,
            CorrelationId = correlationId,
            CausationId = causationId,
            TraceParent = activity?.Id,
            TraceState = activity?.TraceStateString,
        };
    }
}
