using System.Diagnostics;
using System.Text.Json;
using CqrsDapr.Contracts;

namespace CqrsDapr.QueryService.Projection;

/// <summary>
/// Joins each projected event to the trace of the command that raised it. A single delivery needs nothing: the sidecar
/// sends the event's <c>traceparent</c> as the request's header, so the request's span is already in that trace. A
/// bulk delivery is one request for events of many traces, so each entry gets a consumer span of its own, a child of
/// its event's <c>traceparent</c> (CloudEvent attribute) and linked to the batch request's span, lasting as long as the
/// batch took (the time that event waited for its view). ActivitySource <see cref="SourceName"/>.
/// </summary>
internal static class ProjectionTracing
{
    public const string SourceName = "CqrsDapr.QueryService";

    private static readonly ActivitySource Source = new(SourceName);

    /// <summary>The trace context a bulk entry's CloudEvent carries, if any.</summary>
    public static ActivityContext ParentOf(JsonElement entry)
    {
        if (!Source.HasListeners()
            || !entry.TryGetProperty("event", out var @event) || @event.ValueKind != JsonValueKind.Object
            || !@event.TryGetProperty("traceparent", out var traceParent) || traceParent.ValueKind != JsonValueKind.String)
        {
            return default;
        }

        var traceState = @event.TryGetProperty("tracestate", out var state) && state.ValueKind == JsonValueKind.String ? state.GetString() : null;
        return ActivityContext.TryParse(traceParent.GetString(), traceState, isRemote: true, out var parent) ? parent : default;
    }

    /// <summary>Records one span per traced entry of a batch that started at <paramref name="started"/>.</summary>
    public static void RecordBatch(
        string topic, IReadOnlyList<(string EntryId, EventEnvelope Envelope, ActivityContext Trace)> entries, IReadOnlyList<ProjectionOutcome> outcomes, DateTimeOffset started)
    {
        if (!Source.HasListeners())
        {
            return;
        }

        ActivityLink[] batch = Activity.Current is { } request ? [new ActivityLink(request.Context)] : [];
        for (var i = 0; i < entries.Count; i++)
        {
            var (_, envelope, parent) = entries[i];
            if (parent == default)
            {
                continue;
            }

            using var activity = Source.StartActivity($"process {topic}", ActivityKind.Consumer, parent, links: batch, startTime: started);
            if (activity is null)
            {
                continue;
            }

            activity.SetTag("messaging.system", "dapr");
            activity.SetTag("messaging.operation.type", "process");
            activity.SetTag("messaging.destination.name", topic);
            activity.SetTag("messaging.message.id", envelope.EventId.ToString());
            activity.SetTag("messaging.batch.message_count", entries.Count);
            activity.SetTag("cqrsdapr.event.type", envelope.EventType);
            activity.SetTag("cqrsdapr.projection.outcome", outcomes[i].ToString());
            if (outcomes[i] == ProjectionOutcome.Retry)
            {
                activity.SetStatus(ActivityStatusCode.Error, "retried");
            }
        }
    }
}
