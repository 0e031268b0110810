using System.Diagnostics;
using System.Text.Json;
using CqrsDapr.Contracts;
using Dapr.Client;

namespace CqrsDapr.CommandService.Outbox;

/// <summary>
/// Publishes through the Dapr sidecar to the <c>pubsub</c> component. The envelope is serialized with
/// <see cref="ContractsJson"/> (not the SDK's reflection-based options) and becomes the CloudEvent <c>data</c>.
/// </summary>
internal sealed class DaprOutboxPublisher(DaprClient dapr) : IOutboxPublisher
{
    private const string JsonContentType = "application/json";

    public Task PublishAsync(string topic, EventEnvelope envelope, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(envelope, ContractsJson.Default.EventEnvelope);

        // The CloudEvent id is the event id (consumers can dedupe on either); the trace context is the relay's publish
        // span, itself a child of the command's span, so one trace spans command → relay → query.
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { ["cloudevent.id"] = envelope.EventId.ToString() };
        if (Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity)
        {
            metadata["cloudevent.traceparent"] = activity.Id!;
            if (!string.IsNullOrEmpty(activity.TraceStateString))
            {
                metadata["cloudevent.tracestate"] = activity.TraceStateString;
            }
        }

        return dapr.PublishByteEventAsync(DaprNames.PubSub, topic, body, JsonContentType, metadata, cancellationToken);
    }
}
