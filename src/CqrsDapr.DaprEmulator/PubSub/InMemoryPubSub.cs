using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.DaprEmulator.PubSub;

/// <summary>
/// <c>pubsub.in-memory</c> (components-contrib 1.16): a process-local bus. Every subscription of the topic gets every
/// message (there is only one app per sidecar); a failed handler is retried with backoff until it succeeds.
/// </summary>
internal sealed partial class InMemoryPubSub(string name, ILogger logger) : IPubSub
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, List<Channel<PubSubMessage>>> topics = new(StringComparer.Ordinal);

    public string Name { get; } = name;

    public bool HasNativeMessageTtl => false;

    public Task InitAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task PublishAsync(string topic, ReadOnlyMemory<byte> data, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        var message = new PubSubMessage(topic, data.ToArray(), metadata);
        lock (gate)
        {
            if (topics.TryGetValue(topic, out var subscribers))
            {
                foreach (var channel in subscribers)
                {
                    channel.Writer.TryWrite(message);
                }
            }
        }

        return Task.CompletedTask;
    }

    public Task<IAsyncDisposable> SubscribeAsync(string topic, IReadOnlyDictionary<string, string> subscriptionMetadata, PubSubHandler handler, CancellationToken cancellationToken)
    {
        var channel = Channel.CreateUnbounded<PubSubMessage>(new UnboundedChannelOptions { SingleReader = false });
        lock (gate)
        {
            if (!topics.TryGetValue(topic, out var list))
            {
                topics[topic] = list = [];
            }

            list.Add(channel);
        }

        var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, 10).Select(_ => Task.Run(() => ConsumeAsync(channel.Reader, handler, stop.Token), CancellationToken.None)).ToArray();
        return Task.FromResult<IAsyncDisposable>(new Subscription(this, topic, channel, stop, workers));
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private async Task ConsumeAsync(ChannelReader<PubSubMessage> reader, PubSubHandler handler, CancellationToken stop)
    {
        try
        {
            await foreach (var message in reader.ReadAllAsync(stop))
            {
                var delay = TimeSpan.FromMilliseconds(100);
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        await handler(message, stop);
                        break;
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !stop.IsCancellationRequested)
                    {
                        LogRetry(logger, message.Topic, delay.TotalMilliseconds, ex.Message);
                        await Task.Delay(delay, stop);
                        delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 5000));
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "in-memory: redelivering a message of topic {Topic} in {DelayMs} ms after: {Error}")]
    private static partial void LogRetry(ILogger logger, string topic, double delayMs, string error);

    private sealed class Subscription(InMemoryPubSub owner, string topic, Channel<PubSubMessage> channel, CancellationTokenSource stop, Task[] workers) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            lock (owner.gate)
            {
                owner.topics[topic].Remove(channel);
            }

            channel.Writer.TryComplete();
            await stop.CancelAsync();
            await Task.WhenAll(workers);
            stop.Dispose();
        }
    }
}
