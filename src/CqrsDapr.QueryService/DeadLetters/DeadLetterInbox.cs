using System.Security.Cryptography;
using System.Text.Json;
using CqrsDapr.Contracts;
using CqrsDapr.QueryService.Projection;

namespace CqrsDapr.QueryService.DeadLetters;

/// <summary>
/// Turns a delivery from a dead-letter topic into a stored <see cref="DeadLetter"/>. Dapr forwards the original message
/// only, so the reason is worked out again from the projection rules (they are pure, so it is the same reason).
/// </summary>
internal sealed partial class DeadLetterInbox(IDeadLetterStore store, ProjectionMetrics metrics, TimeProvider time, ILogger<DeadLetterInbox> logger)
{
    public async Task StoreAsync(string sourceTopic, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var deadLetter = Describe(sourceTopic, data, time.GetUtcNow());
        if (await store.TryAddAsync(deadLetter, cancellationToken))
        {
            metrics.DeadLetterStored();
            LogStored(logger, deadLetter.Id, sourceTopic, deadLetter.Reason ?? "unknown");
        }
    }

    public static DeadLetter Describe(string sourceTopic, ReadOnlyMemory<byte> data, DateTimeOffset receivedAt)
    {
        JsonElement? json = null;
        try
        {
            using var document = JsonDocument.Parse(data);
            json = document.RootElement.Clone();
        }
        catch (JsonException)
        {
        }

        EventEnvelope? envelope = null;
        string? reason;
        try
        {
            envelope = json is { ValueKind: JsonValueKind.Object } element ? element.Deserialize(ContractsJson.Default.EventEnvelope) : null;
            reason = envelope is null ? "not an event envelope" : ProductProjector.Validate(envelope)?.Reason;
        }
        catch (JsonException ex)
        {
            reason = $"not an event envelope: {ex.Message}";
        }

        return new DeadLetter
        {
            Id = envelope?.EventId.ToString("D") ?? "sha256-" + Convert.ToHexStringLower(SHA256.HashData(data.Span)),
            Topic = sourceTopic,
            EventType = envelope?.EventType,
            AggregateId = envelope?.AggregateId,
            Reason = reason,
            Data = json,
            RawData = json is null ? System.Text.Encoding.UTF8.GetString(data.Span) : null,
            ReceivedAt = receivedAt,
            ReceivedAtKey = DaprDeadLetterStore.ReceivedAtKeyOf(receivedAt),
        };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stored dead letter {Id} from {Topic}: {Reason}")]
    private static partial void LogStored(ILogger logger, string id, string topic, string reason);
}
