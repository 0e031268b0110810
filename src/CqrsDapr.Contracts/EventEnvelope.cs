using System.Text.Json;

namespace CqrsDapr.Contracts;

/// <summary>
/// The CloudEvent <c>data</c> of every integration event. Delivery is at-least-once and unordered: consumers dedupe
/// on <see cref="EventId"/> or <see cref="AggregateVersion"/> and order by <see cref="AggregateVersion"/>, never by
/// arrival. <see cref="Sequence"/> is the write side's global outbox position (for rebuilds and diagnostics; it
/// commits out of order, so it is not a high-water mark).
/// </summary>
public sealed record EventEnvelope
{
    public required Guid EventId { get; init; }

    public required string EventType { get; init; }

    public required int SchemaVersion { get; init; }

    public required string AggregateType { get; init; }

    public required string AggregateId { get; init; }

    public required long AggregateVersion { get; init; }

    public required long Sequence { get; init; }

    public required DateTimeOffset OccurredAt { get; init; }

    public string? CorrelationId { get; init; }

    public string? CausationId { get; init; }

    /// <summary>The event itself, in the shape its <see cref="EventType"/> and <see cref="SchemaVersion"/> name.</summary>
    public required JsonElement Data { get; init; }

    /// <summary>Reads <see cref="Data"/> as <typeparamref name="TEvent"/> after checking the type and version.</summary>
    public TEvent DataAs<TEvent>()
        where TEvent : IIntegrationEvent
    {
        if (EventType != TEvent.EventType || SchemaVersion != TEvent.SchemaVersion)
        {
            throw new InvalidOperationException($"Envelope holds {EventType} v{SchemaVersion}, not {TEvent.EventType} v{TEvent.SchemaVersion}.");
        }

        return (TEvent)Data.Deserialize(ContractsJson.Default.GetTypeInfo(typeof(TEvent))!)!;
    }
}
