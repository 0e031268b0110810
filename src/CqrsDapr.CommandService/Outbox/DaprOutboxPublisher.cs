using System.Diagnostics;
using System.Text.Json;
using CqrsDapr.CommandService.DaprSidecar;
using CqrsDapr.Contracts;
using Dapr.Client;
using Microsoft.Extensions.Options;

namespace CqrsDapr.CommandService.Outbox;

/// <summary>
/// Publishes through the Dapr sidecar to the <c>pubsub</c> component. The envelope is serialized with
/// <see cref="ContractsJson"/> (not the SDK's reflection-based options) and becomes the CloudEvent <c>data</c>.
/// Each publish has a deadline (<see cref="SidecarOptions.PublishTimeout"/>): a sidecar that does not answer fails the
/// publish with a <see cref="TimeoutException"/>, and the relay retries the row with backoff.
/// </summary>
internal sealed class DaprOutboxPublisher(DaprClient dapr, IOptions<SidecarOptions> sidecar) : IOutboxPublisher
{
    private const string JsonContentType = "application/json";

    public async Task PublishAsync(string topic, EventEnvelope envelope, CancellationToken cancellationToken)
    {
        var timeout = sidecar.Value.PublishTimeout;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await SendAsync(topic, envelope, deadline.Token);
        }
        catch (OperationCanceledException ex) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The sidecar did not answer the publish to '{topic}' within {timeout.TotalSeconds:0.#} s.", ex);
        }
    }

    private Task SendAsync(string topic, EventEnvelope envelope, CancellationToken cancellationToken)
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
