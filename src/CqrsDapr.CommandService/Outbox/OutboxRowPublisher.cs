using System.Diagnostics;
using System.Text.Json;
using CqrsDapr.CommandService.Diagnostics;
using CqrsDapr.Contracts;

namespace CqrsDapr.CommandService.Outbox;

/// <summary>
/// Hands one committed outbox row to the broker: its topic, its envelope, a producer span that continues the trace of
/// the command that raised it, and the publish metrics. Used by the dispatch right after the commit and by the relay
/// for what the dispatch left; the row is marked published by the caller.
/// </summary>
internal sealed class OutboxRowPublisher(IOutboxPublisher publisher, OutboxMetrics metrics, TimeProvider time)
{
    public async Task PublishAsync(OutboxMessage row, CancellationToken cancellationToken)
    {
        var topic = OutboxTopics.For(row.AggregateType)
            ?? throw new InvalidOperationException($"No topic is mapped for aggregate type '{row.AggregateType}'.");

        // Continue the trace of the command that raised the event (stored with the row).
        ActivityContext.TryParse(row.TraceParent, row.TraceState, isRemote: true, out var parent);
        using var activity = CommandServiceTelemetry.ActivitySource.StartActivity($"publish {topic}", ActivityKind.Producer, parent);
        activity?.SetTag("messaging.system", "dapr");
        activity?.SetTag("messaging.operation.type", "send");
        activity?.SetTag("messaging.destination.name", topic);
        activity?.SetTag("messaging.message.id", row.EventId.ToString());
        activity?.SetTag("cqrsdapr.outbox.sequence", row.Sequence);

        try
        {
            await publisher.PublishAsync(topic, ToEnvelope(row), cancellationToken);
        }
        catch (Exception ex)
        {
            if (!cancellationToken.IsCancellationRequested)
            {
                metrics.PublishFailed();
            }

            activity?.AddException(ex);
            activity?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            throw;
        }

        metrics.Published(time.GetUtcNow() - row.OccurredAt);
    }

    /// <summary>The row as it travels: the integration event's envelope (also what the event log serves).</summary>
    internal static EventEnvelope ToEnvelope(OutboxMessage row)
    {
        using var payload = JsonDocument.Parse(row.Payload);
        return new EventEnvelope
        {
            EventId = row.EventId,
            EventType = row.EventType,
            SchemaVersion = row.SchemaVersion,
            AggregateType = row.AggregateType,
            AggregateId = row.AggregateId,
            AggregateVersion = row.AggregateVersion,
            Sequence = row.Sequence,
            OccurredAt = row.OccurredAt,
            CorrelationId = row.CorrelationId,
            CausationId = row.CausationId,
            Data = payload.RootElement.Clone(),
        };
    }
}
