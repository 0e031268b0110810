using CqrsDapr.DaprEmulator.Components;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.DaprEmulator.PubSub;

/// <summary>PLACEHOLDER: being implemented (pubsub.redis on Redis streams).</summary>
internal sealed class RedisStreamsPubSub(ComponentDefinition definition, string appId, ILogger logger) : IPubSub
{
    public string Name => definition.Name;

    public bool HasNativeMessageTtl => false;

    public Task InitAsync(CancellationToken cancellationToken) => throw new NotImplementedException(appId + logger);

    public Task PublishAsync(string topic, ReadOnlyMemory<byte> data, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken) => throw new NotImplementedException();

    public Task<IAsyncDisposable> SubscribeAsync(string topic, IReadOnlyDictionary<string, string> subscriptionMetadata, PubSubHandler handler, CancellationToken cancellationToken) => throw new NotImplementedException();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
