namespace CqrsDapr.DaprEmulator.PubSub;

/// <summary>A message as the broker holds it: the envelope bytes daprd built, and the publisher's metadata.</summary>
internal sealed record PubSubMessage(string Topic, ReadOnlyMemory<byte> Data, IReadOnlyDictionary<string, string> Metadata);

/// <summary>Handles one message; returning acks it, throwing leaves it to the component's redelivery.</summary>
internal delegate Task PubSubHandler(PubSubMessage message, CancellationToken cancellationToken);

/// <summary>A pub/sub component (components-contrib <c>pubsub.PubSub</c> as daprd 1.16 uses it).</summary>
internal interface IPubSub : IAsyncDisposable
{
    string Name { get; }

    /// <summary>Whether the broker expires messages itself; if not, daprd adds <c>expiration</c> to the envelope.</summary>
    bool HasNativeMessageTtl { get; }

    Task InitAsync(CancellationToken cancellationToken);

    Task PublishAsync(string topic, ReadOnlyMemory<byte> data, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken);

    /// <summary>Starts consuming <paramref name="topic"/> in this app's consumer group; dispose to stop.</summary>
    Task<IAsyncDisposable> SubscribeAsync(string topic, IReadOnlyDictionary<string, string> subscriptionMetadata, PubSubHandler handler, CancellationToken cancellationToken);
}

/// <summary>Publishing failed in the broker (daprd: <c>ERR_PUBSUB_PUBLISH_MESSAGE</c>, gRPC Internal, HTTP 500).</summary>
internal sealed class PubSubPublishException(string message, Exception? inner = null) : Exception(message, inner);
