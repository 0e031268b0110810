using CqrsDapr.DaprEmulator.Components;
using CqrsDapr.DaprEmulator.Hosting;
using CqrsDapr.DaprEmulator.PubSub.Routing;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.DaprEmulator.PubSub;

/// <summary>
/// The app's subscriptions (daprd 1.16 <c>pkg/runtime/subscription</c> and <c>pkg/runtime/pubsub/subscriptions.go</c>):
/// read once at start from <c>GET /dapr/subscribe</c> and merged with the declarative <c>Subscription</c> resources
/// (a programmatic subscription replaces a declarative one for the same pubsub and topic), then each one subscribed on
/// its component with a <see cref="SubscriptionDelivery"/> as handler. Delivery concurrency is the component's
/// (pubsub.redis <c>concurrency</c>).
/// </summary>
internal sealed partial class SubscriptionManager(
    EmulatorOptions options,
    ComponentRegistry registry,
    LoadedResources resources,
    AppChannel.AppChannel appChannel,
    ILoggerFactory loggerFactory) : IAsyncDisposable
{
    private readonly ILogger logger = loggerFactory.CreateLogger("dapr.runtime.processor.subscription");
    private readonly List<IAsyncDisposable> started = [];
    private IReadOnlyList<SubscriptionDefinition> active = [];

    /// <summary>The subscriptions being delivered (for the metadata API).</summary>
    public IReadOnlyList<SubscriptionDefinition> Active => Volatile.Read(ref active);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (registry.PubSubs.Count == 0)
        {
            LogNoPubSub(logger);
            return;
        }

        var programmatic = appChannel.Enabled
            ? await ProgrammaticSubscriptions.GetAsync(appChannel, options.AppId, logger, cancellationToken)
            : [];

        // Declarative first; a programmatic subscription for the same pubsub and topic replaces it.
        var merged = new Dictionary<(string PubSub, string Topic), SubscriptionDefinition>();
        foreach (var subscription in resources.Subscriptions.Concat(programmatic))
        {
            merged[(subscription.PubSubName, subscription.Topic)] = subscription;
        }

        var running = new List<SubscriptionDefinition>();
        foreach (var subscription in merged.Values)
        {
            if (await TryStartAsync(subscription, cancellationToken))
            {
                running.Add(subscription);
            }
        }

        Volatile.Write(ref active, running);
    }

    public async ValueTask DisposeAsync()
    {
        IAsyncDisposable[] toStop;
        lock (started)
        {
            toStop = [.. started];
            started.Clear();
        }

        Volatile.Write(ref active, []);
        foreach (var subscription in toStop)
        {
            try
            {
                await subscription.DisposeAsync();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogStopFailed(logger, ex.Message);
            }
        }
    }

    private async Task<bool> TryStartAsync(SubscriptionDefinition subscription, CancellationToken cancellationToken)
    {
        if (subscription.Rules.Count == 0)
        {
            LogNoRoutes(logger, subscription.Topic);
            return false;
        }

        if (!registry.PubSubs.TryGetValue(subscription.PubSubName, out var entry))
        {
            LogUnknownPubSub(logger, subscription.PubSubName, subscription.Topic, subscription.Source);
            return false;
        }

        List<CompiledRule> rules;
        try
        {
            rules = subscription.Rules.Select(CompiledRule.Compile).ToList();
        }
        catch (Exception ex) when (ex is RouteExpressionException or UriFormatException)
        {
            LogBadRule(logger, subscription.PubSubName, subscription.Topic, ex.Message);
            return false;
        }

        var delivery = new SubscriptionDelivery(
            subscription,
            rules,
            entry.PubSub,
            appChannel,
            resources.ComponentPolicies.GetValueOrDefault(subscription.PubSubName),
            logger);
        PubSubHandler handler = delivery.HandleAsync;
        DefaultBulkSubscriber? batcher = null;
        var bulk = subscription.BulkSubscribe;
        if (bulk.Enabled)
        {
            // daprd 1.16: neither pubsub.redis nor pubsub.in-memory implements BulkSubscriber, so the runtime's default
            // bulk subscriber batches the component's one-by-one deliveries.
            var bulkDelivery = new BulkSubscriptionDelivery(delivery, appChannel, logger);
            batcher = new DefaultBulkSubscriber(bulk.EffectiveMaxMessagesCount, bulk.EffectiveMaxAwaitDuration, bulkDelivery.HandleAsync, logger);
            handler = batcher.HandleAsync;
        }

        try
        {
            var handle = await entry.PubSub.SubscribeAsync(subscription.Topic, subscription.Metadata, handler, cancellationToken);
            lock (started)
            {
                started.Add(batcher is null ? handle : new BulkSubscription(handle, batcher));
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            if (batcher is not null)
            {
                await batcher.DisposeAsync();
            }

            LogSubscribeFailed(logger, subscription.Topic, ex.Message);
            return false;
        }

        if (logger.IsEnabled(LogLevel.Information))
        {
            var routes = string.Join(", ", subscription.Rules.Select(r => r.Match.Length == 0 ? "/" + r.Path.TrimStart('/') : $"{r.Match} → /{r.Path.TrimStart('/')}"));
            var mode = bulk.Enabled
                ? $"bulk (maxMessagesCount {bulk.EffectiveMaxMessagesCount}, maxAwaitDurationMs {bulk.EffectiveMaxAwaitDuration.TotalMilliseconds})"
                : "single";
            LogSubscribed(logger, subscription.PubSubName, subscription.Topic, routes, subscription.DeadLetterTopic ?? "(none)", mode, subscription.Source);
        }

        return true;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "No pub/sub component loaded: no subscriptions read")]
    private static partial void LogNoPubSub(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "topic {Topic} has an empty routes. removing from subscriptions list")]
    private static partial void LogNoRoutes(ILogger logger, string topic);

    [LoggerMessage(Level = LogLevel.Error, Message = "subscription to topic '{Topic}' ({Source}) uses pubsub '{PubSub}', which is not loaded: subscription not started")]
    private static partial void LogUnknownPubSub(ILogger logger, string pubSub, string topic, string source);

    [LoggerMessage(Level = LogLevel.Error, Message = "subscription to {PubSub}/{Topic} not started: {Error}")]
    private static partial void LogBadRule(ILogger logger, string pubSub, string topic, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "failed to subscribe to topic {Topic}: {Error}")]
    private static partial void LogSubscribeFailed(ILogger logger, string topic, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Subscribed to {PubSub}/{Topic}: routes {Routes}, dead-letter topic {DeadLetterTopic}, {Mode} delivery ({Source})")]
    private static partial void LogSubscribed(ILogger logger, string pubSub, string topic, string routes, string deadLetterTopic, string mode, string source);

    [LoggerMessage(Level = LogLevel.Warning, Message = "error stopping a subscription: {Error}")]
    private static partial void LogStopFailed(ILogger logger, string error);

    /// <summary>A bulk subscription: the component stops delivering first, then the batcher stops.</summary>
    private sealed class BulkSubscription(IAsyncDisposable component, DefaultBulkSubscriber batcher) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await component.DisposeAsync();
            await batcher.DisposeAsync();
        }
    }
}
