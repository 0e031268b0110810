using CqrsDapr.Contracts;

namespace CqrsDapr.CommandService.Outbox;

/// <summary>Hands one event to the broker. Throws when it was not accepted; the relay then retries it later.</summary>
internal interface IOutboxPublisher
{
    Task PublishAsync(string topic, EventEnvelope envelope, CancellationToken cancellationToken);
}
