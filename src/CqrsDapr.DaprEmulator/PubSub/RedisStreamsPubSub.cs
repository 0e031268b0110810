using System.Collections.Frozen;
using System.Threading.Channels;
using CqrsDapr.DaprEmulator.Components;
using CqrsDapr.DaprEmulator.PubSub.Redis;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace CqrsDapr.DaprEmulator.PubSub;

/// <summary>
/// <c>pubsub.redis</c> on Redis streams, behaving as components-contrib v1.16 <c>pubsub/redis/redis.go</c>:
/// <list type="bullet">
/// <item>publish = <c>XADD &lt;topic&gt; [MAXLEN ~ maxLenApprox] * data &lt;envelope&gt; metadata &lt;json&gt;</c>;</item>
/// <item>subscribe = consumer group <c>consumerID</c> (default: the app-id) created from id <c>0</c> with MKSTREAM, read
/// with <c>XREADGROUP</c> as consumer <c>consumerID</c> too, <c>COUNT queueDepth</c>, into one queue of
/// <c>queueDepth</c> per component drained by <c>concurrency</c> workers shared by all its topics;</item>
/// <item>a handled message is <c>XACK</c>ed; a failed one stays pending and a reclaim loop, every
/// <c>redeliverInterval</c>, <c>XCLAIM</c>s the entries idle for at least <c>processingTimeout</c> (either 0 disables it).</item>
/// </list>
/// Differences in mechanics, not in behaviour: blocking reads use a dedicated connection per topic (StackExchange.Redis
/// multiplexes and cannot block), and acknowledgements are batched into one <c>XACK</c> per burst.
/// </summary>
internal sealed partial class RedisStreamsPubSub(ComponentDefinition definition, string appId, ILogger logger) : IPubSub
{
    private static readonly IReadOnlyDictionary<string, string> NoMetadata = FrozenDictionary<string, string>.Empty;
    private static readonly RedisValue DataField = "data";
    private static readonly RedisValue MetadataField = "metadata";

    private readonly ILogger logger = logger;
    private readonly CancellationTokenSource closing = new();
    private readonly List<Subscription> subscriptions = [];
    private readonly Lock gate = new();
    private RedisStreamsSettings? settings;
    private ConnectionMultiplexer? connection;
    private IDatabase? database;
    private Channel<WorkItem>? queue;
    private Task[] workers = [];
    private bool closed;

    public string Name => definition.Name;

    /// <summary>v1.16 <c>Features()</c> returns nil: daprd adds <c>expiration</c> to the envelope itself.</summary>
    public bool HasNativeMessageTtl => false;

    private RedisStreamsSettings Settings => settings ?? throw new InvalidOperationException("component not initialized");

    private IDatabase Database => database ?? throw new InvalidOperationException("component not initialized");

    public async Task InitAsync(CancellationToken cancellationToken)
    {
        settings = RedisStreamsSettings.Parse(definition, appId, Environment.GetEnvironmentVariable("NAMESPACE") ?? "", Environment.GetEnvironmentVariable);
        var options = new ConfigurationOptions
        {
            AbortOnConnectFail = false,
            ConnectTimeout = (int)settings.DialTimeout.TotalMilliseconds,
            User = settings.Username,
            Password = settings.Password,
            DefaultDatabase = settings.Database,
            ClientName = $"dapr-{appId}",
        };
        options.EndPoints.Add(settings.Endpoint.Host, settings.Endpoint.Port);
        connection = await ConnectionMultiplexer.ConnectAsync(options);
        database = connection.GetDatabase();
        try
        {
            await database.PingAsync().WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or OperationCanceledException)
        {
            // daprd: the component fails to initialize (fatal unless ignoreErrors).
            throw new InvalidOperationException($"redis streams: error connecting to redis at {settings.Endpoint}: {ex.Message}", ex);
        }

        queue = Channel.CreateBounded<WorkItem>(new BoundedChannelOptions(Math.Max(1, settings.QueueDepth))
        {
            FullMode = BoundedChannelFullMode.Wait,
        });
        if (settings.Concurrency == 0)
        {
            LogNoWorkers(logger, Name);
        }

        workers = Enumerable.Range(0, settings.Concurrency).Select(_ => Task.Run(WorkerAsync, CancellationToken.None)).ToArray();
        LogInitialized(logger, Name, settings.Endpoint, settings.ConsumerId, settings.Concurrency, settings.QueueDepth,
            settings.ProcessingTimeout.TotalMilliseconds, settings.RedeliverInterval.TotalMilliseconds);
    }

    public async Task PublishAsync(string topic, ReadOnlyMemory<byte> data, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        if (Volatile.Read(ref closed))
        {
            throw new PubSubPublishException("component is closed");
        }

        // v1.16 writes the metadata field only when the request's map is non-nil; a gRPC publish without metadata
        // arrives with a nil map, which is what an empty one means here.
        var fields = metadata.Count == 0
            ? new[] { new NameValueEntry(DataField, data) }
            : [new NameValueEntry(DataField, data), new NameValueEntry(MetadataField, GoStringMapJson.Serialize(metadata))];
        try
        {
            await Database.StreamAddAsync(
                topic,
                fields,
                messageId: null,
                maxLength: Settings.MaxLenApprox > 0 ? Settings.MaxLenApprox : null,
                useApproximateMaxLength: true).WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw new PubSubPublishException($"redis streams: error from publish: {ex.Message}", ex);
        }
    }

    public async Task<IAsyncDisposable> SubscribeAsync(string topic, IReadOnlyDictionary<string, string> subscriptionMetadata, PubSubHandler handler, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (Volatile.Read(ref closed))
        {
            throw new InvalidOperationException("component is closed");
        }

        await CreateConsumerGroupAsync(topic, cancellationToken);
        var subscription = new Subscription(this, topic, handler);
        lock (gate)
        {
            subscriptions.Add(subscription);
        }

        subscription.Start();
        return subscription;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref closed, true))
        {
            return;
        }

        Subscription[] open;
        lock (gate)
        {
            open = [.. subscriptions];
        }

        foreach (var subscription in open)
        {
            await subscription.DisposeAsync();
        }

        await closing.CancelAsync();
        queue?.Writer.TryComplete();
        await Task.WhenAll(workers);
        if (connection is not null)
        {
            await connection.DisposeAsync();
        }

        closing.Dispose();
    }

    /// <summary>v1.16 <c>CreateConsumerGroup</c>: <c>XGROUP CREATE topic consumerID 0 MKSTREAM</c>, BUSYGROUP ignored.</summary>
    private async Task CreateConsumerGroupAsync(string topic, CancellationToken cancellationToken)
    {
        try
        {
            await Database.StreamCreateConsumerGroupAsync(topic, Settings.ConsumerId, "0", createStream: true).WaitAsync(cancellationToken);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogGroupError(logger, ex.Message);
            throw;
        }
    }

    private async Task WorkerAsync()
    {
        var reader = queue!.Reader;
        try
        {
            while (await reader.WaitToReadAsync(closing.Token))
            {
                while (reader.TryRead(out var item))
                {
                    await ProcessAsync(item);
                }
            }
        }
        catch (OperationCanceledException) when (closing.IsCancellationRequested)
        {
        }
    }

    /// <summary>v1.16 <c>processMessage</c>: handler error = leave pending (logged); success = XACK.</summary>
    private async Task ProcessAsync(WorkItem item)
    {
        var subscription = item.Subscription;
        if (subscription.Stopping.IsCancellationRequested)
        {
            return; // stays pending: another consumer of the group reclaims it
        }

        LogProcessing(logger, item.Id);
        try
        {
            await subscription.Handler(item.Message, subscription.Stopping);
        }
        catch (OperationCanceledException) when (subscription.Stopping.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex)
        {
            LogProcessingError(logger, item.Id, ex.Message);
            return;
        }

        subscription.Acknowledge(item.Id);
    }

    private PubSubMessage ToMessage(string topic, string id, RespValue[]? fields)
    {
        ReadOnlyMemory<byte> data = ReadOnlyMemory<byte>.Empty;
        var metadata = NoMetadata;
        if (fields is not null)
        {
            for (var i = 0; i + 1 < fields.Length; i += 2)
            {
                var name = fields[i].Bytes;
                var value = fields[i + 1];
                if (name is null || value.Kind != RespKind.BulkString)
                {
                    continue;
                }

                if (name.AsSpan().SequenceEqual("data"u8))
                {
                    data = value.Bytes;
                }
                else if (name.AsSpan().SequenceEqual("metadata"u8))
                {
                    metadata = ParseMetadata(id, value.Bytes);
                }
            }
        }

        return new PubSubMessage(topic, data, metadata);
    }

    private PubSubMessage ToMessage(string topic, StreamEntry entry)
    {
        ReadOnlyMemory<byte> data = ReadOnlyMemory<byte>.Empty;
        var metadata = NoMetadata;
        foreach (var field in entry.Values)
        {
            if (field.Name == DataField)
            {
                data = (byte[]?)field.Value ?? [];
            }
            else if (field.Name == MetadataField)
            {
                metadata = ParseMetadata(entry.Id!, (byte[]?)field.Value);
            }
        }

        return new PubSubMessage(topic, data, metadata);
    }

    private IReadOnlyDictionary<string, string> ParseMetadata(string id, byte[]? json)
    {
        if (json is null)
        {
            return NoMetadata;
        }

        var parsed = GoStringMapJson.TryDeserialize(json, out var error);
        if (parsed is null)
        {
            LogMetadataUnreadable(logger, id, error);
            return NoMetadata;
        }

        return parsed;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "redis streams {Name}: connected to {Endpoint}, consumer group {ConsumerId}, concurrency {Concurrency}, queueDepth {QueueDepth}, processingTimeout {ProcessingTimeoutMs} ms, redeliverInterval {RedeliverIntervalMs} ms")]
    private static partial void LogInitialized(ILogger logger, string name, RedisEndpoint endpoint, string consumerId, int concurrency, int queueDepth, double processingTimeoutMs, double redeliverIntervalMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "redis streams {Name}: concurrency is 0, so no worker will ever process a message (as in components-contrib v1.16)")]
    private static partial void LogNoWorkers(ILogger logger, string name);

    [LoggerMessage(Level = LogLevel.Error, Message = "redis streams: {Error}")]
    private static partial void LogGroupError(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Processing Redis message {Id}")]
    private static partial void LogProcessing(ILogger logger, string id);

    [LoggerMessage(Level = LogLevel.Error, Message = "Error processing Redis message {Id}: {Error}")]
    private static partial void LogProcessingError(ILogger logger, string id, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis PubSub: Could not extract metadata for Redis message {Id}: {Error}")]
    private static partial void LogMetadataUnreadable(ILogger logger, string id, string? error);

    [LoggerMessage(Level = LogLevel.Error, Message = "redis streams: error reading from stream {Stream}: {Error}")]
    private static partial void LogReadError(ILogger logger, string stream, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "redis streams: consumer group {Group} does not exist for stream {Stream}. This could mean the server experienced data loss, or the group/stream was deleted.")]
    private static partial void LogGroupMissing(ILogger logger, string group, string stream);

    [LoggerMessage(Level = LogLevel.Warning, Message = "redis streams: recreating group {Group} for stream {Stream}")]
    private static partial void LogGroupRecreating(ILogger logger, string group, string stream);

    [LoggerMessage(Level = LogLevel.Information, Message = "redis streams: reading stream {Stream} again after reconnecting")]
    private static partial void LogReconnected(ILogger logger, string stream);

    [LoggerMessage(Level = LogLevel.Error, Message = "error retrieving pending Redis messages: {Error}")]
    private static partial void LogPendingError(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "error claiming pending Redis messages: {Error}")]
    private static partial void LogClaimError(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "redis streams: reclaimed {Count} pending message(s) of stream {Stream}")]
    private static partial void LogReclaimed(ILogger logger, int count, string stream);

    [LoggerMessage(Level = LogLevel.Error, Message = "Error acknowledging Redis message(s) {Ids}: {Error}")]
    private static partial void LogAckError(ILogger logger, string ids, string error);

    private readonly record struct WorkItem(Subscription Subscription, string Id, PubSubMessage Message);

    /// <summary>One topic's read loop, reclaim loop and acknowledgement batcher.</summary>
    private sealed class Subscription(RedisStreamsPubSub owner, string topic, PubSubHandler handler) : IAsyncDisposable
    {
        private const int MaxAckBatch = 1024;

        private readonly CancellationTokenSource stop = CancellationTokenSource.CreateLinkedTokenSource(owner.closing.Token);
        private readonly Channel<RedisValue> acks = Channel.CreateUnbounded<RedisValue>(new UnboundedChannelOptions { SingleReader = true });
        private readonly byte[] readCommand = RespConnection.Encode(
            [
                "XREADGROUP", "GROUP", owner.Settings.ConsumerId, owner.Settings.ConsumerId,
                .. owner.Settings.QueueDepth > 0 ? new[] { "COUNT", owner.Settings.QueueDepth.ToString(System.Globalization.CultureInfo.InvariantCulture) } : [],
                "BLOCK", ((long)owner.Settings.ReadTimeout.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture),
                "STREAMS", topic, ">",
            ]);

        private int disposed;
        private Task readLoop = Task.CompletedTask;
        private Task reclaimLoop = Task.CompletedTask;
        private Task ackLoop = Task.CompletedTask;
        private RespConnection? reading;

        public PubSubHandler Handler { get; } = handler;

        public CancellationToken Stopping => stop.Token;

        public void Start()
        {
            ackLoop = Task.Run(AckLoopAsync, CancellationToken.None);
            readLoop = Task.Run(ReadLoopAsync, CancellationToken.None);
            if (owner.Settings.RedeliveryEnabled)
            {
                reclaimLoop = Task.Run(ReclaimLoopAsync, CancellationToken.None);
            }
        }

        public void Acknowledge(string id) => acks.Writer.TryWrite(id);

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref disposed, 1) != 0)
            {
                return;
            }

            lock (owner.gate)
            {
                owner.subscriptions.Remove(this);
            }

            await stop.CancelAsync();
            if (reading is { } connection)
            {
                await connection.DisposeAsync();
            }

            await Task.WhenAll(readLoop, reclaimLoop);
            acks.Writer.TryComplete();
            await ackLoop;
            stop.Dispose();
        }

        /// <summary>v1.16 <c>pollNewMessagesLoop</c>, on its own connection so the read can block in Redis.</summary>
        private async Task ReadLoopAsync()
        {
            var settings = owner.Settings;
            var backoff = TimeSpan.Zero;
            var reconnected = false;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    if (reading is null)
                    {
                        reading = await RespConnection.ConnectAsync(settings.Endpoint, settings.Username, settings.Password, settings.Database, settings.DialTimeout, stop.Token);
                        if (reconnected)
                        {
                            LogReconnected(owner.logger, topic);
                        }
                    }

                    var reply = await reading.ExecuteAsync(readCommand, stop.Token);
                    backoff = TimeSpan.Zero;
                    if (reply.Kind == RespKind.Error)
                    {
                        await OnReadErrorAsync(reply.Text!);
                        continue;
                    }

                    await EnqueueAsync(reply);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or RedisReplyException or OperationCanceledException or ObjectDisposedException)
                {
                    if (stop.IsCancellationRequested)
                    {
                        return;
                    }

                    LogReadError(owner.logger, topic, ex.Message);
                    if (reading is not null)
                    {
                        await reading.DisposeAsync();
                        reading = null;
                    }

                    reconnected = true;
                    // Unlike go-redis (which retries the command with its own backoff), back off here so a server that
                    // is down is not dialled in a tight loop.
                    backoff = backoff == TimeSpan.Zero ? TimeSpan.FromMilliseconds(50) : TimeSpan.FromMilliseconds(Math.Min(backoff.TotalMilliseconds * 2, 2000));
                    try
                    {
                        await Task.Delay(backoff, stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
            }
        }

        /// <summary>v1.16: a NOGROUP reply (the server lost its data, or the stream was deleted) recreates the group from 0.</summary>
        private async Task OnReadErrorAsync(string error)
        {
            if (error.Contains("NOGROUP", StringComparison.Ordinal))
            {
                LogGroupMissing(owner.logger, owner.Settings.ConsumerId, topic);
                LogGroupRecreating(owner.logger, owner.Settings.ConsumerId, topic);
                var create = await reading!.ExecuteAsync(RespConnection.Encode("XGROUP", "CREATE", topic, owner.Settings.ConsumerId, "0", "MKSTREAM"), stop.Token);
                if (create.Kind == RespKind.Error && !create.Text!.StartsWith("BUSYGROUP", StringComparison.Ordinal))
                {
                    LogGroupError(owner.logger, create.Text);
                }
            }

            LogReadError(owner.logger, topic, error);
            if (!error.Contains("NOGROUP", StringComparison.Ordinal))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), stop.Token);
            }
        }

        /// <summary>Reply of XREADGROUP: nil on timeout, else <c>[[stream, [[id, [field, value, ...]], ...]]]</c>.</summary>
        private async ValueTask EnqueueAsync(RespValue reply)
        {
            if (reply.Kind != RespKind.Array)
            {
                return;
            }

            var writer = owner.queue!.Writer;
            foreach (var stream in reply.Items!)
            {
                if (stream.Items is not [_, { Kind: RespKind.Array } entries])
                {
                    continue;
                }

                foreach (var entry in entries.Items!)
                {
                    if (entry.Items is not [{ Kind: RespKind.BulkString } id, var fields])
                    {
                        continue;
                    }

                    var idText = id.AsString();
                    var item = new WorkItem(this, idText, owner.ToMessage(topic, idText, fields.Items));
                    if (!writer.TryWrite(item))
                    {
                        await writer.WriteAsync(item, stop.Token);
                    }
                }
            }
        }

        /// <summary>v1.16 <c>reclaimPendingMessagesLoop</c>: once at start, then every <c>redeliverInterval</c>.</summary>
        private async Task ReclaimLoopAsync()
        {
            using var timer = new PeriodicTimer(owner.Settings.RedeliverInterval);
            try
            {
                do
                {
                    await ReclaimAsync();
                }
                while (await timer.WaitForNextTickAsync(stop.Token));
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        }

        /// <summary>
        /// v1.16 <c>reclaimPendingMessages</c>: XPENDING of the whole group (<c>- + queueDepth</c>), keep the entries idle for
        /// at least processingTimeout, XCLAIM them for this consumer and enqueue them; repeat until nothing qualifies.
        /// </summary>
        private async Task ReclaimAsync()
        {
            var settings = owner.Settings;
            var db = owner.Database;
            var minIdle = (long)settings.ProcessingTimeout.TotalMilliseconds;
            while (!stop.IsCancellationRequested)
            {
                StreamPendingMessageInfo[] pending;
                try
                {
                    // v1.16 asks for queueDepth entries; with queueDepth 0 that is none, so nothing is ever reclaimed.
                    if (settings.QueueDepth == 0)
                    {
                        return;
                    }

                    pending = await db.StreamPendingMessagesAsync(topic, settings.ConsumerId, settings.QueueDepth, RedisValue.Null, "-", "+").WaitAsync(stop.Token);
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    LogPendingError(owner.logger, ex.Message);
                    return;
                }

                var ids = pending.Where(p => p.IdleTimeInMilliseconds >= minIdle).Select(p => p.MessageId).ToArray();
                if (ids.Length == 0)
                {
                    return;
                }

                StreamEntry[] claimed;
                try
                {
                    claimed = await db.StreamClaimAsync(topic, settings.ConsumerId, settings.ConsumerId, minIdle, ids).WaitAsync(stop.Token);
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    LogClaimError(owner.logger, ex.Message);
                    return;
                }

                var writer = owner.queue!.Writer;
                var count = 0;
                var deleted = false;
                foreach (var entry in claimed)
                {
                    if (entry.IsNull)
                    {
                        deleted = true; // Redis < 7 returns nil for entries deleted from the stream
                        continue;
                    }

                    count++;
                    await writer.WriteAsync(new WorkItem(this, entry.Id!, owner.ToMessage(topic, entry)), stop.Token);
                }

                LogReclaimed(owner.logger, count, topic);
                if (deleted)
                {
                    await RemoveDeletedFromPendingAsync(ids.Except(claimed.Where(c => !c.IsNull).Select(c => c.Id)).ToArray());
                }
            }
        }

        /// <summary>v1.16 <c>removeMessagesThatNoLongerExistFromPending</c>: claim one by one; a nil entry is acked away.</summary>
        private async Task RemoveDeletedFromPendingAsync(RedisValue[] ids)
        {
            var db = owner.Database;
            foreach (var id in ids)
            {
                try
                {
                    var single = await db.StreamClaimAsync(topic, owner.Settings.ConsumerId, owner.Settings.ConsumerId, 0, [id]).WaitAsync(stop.Token);
                    if (single is [{ IsNull: false } entry])
                    {
                        await owner.queue!.Writer.WriteAsync(new WorkItem(this, entry.Id!, owner.ToMessage(topic, entry)), stop.Token);
                    }
                    else
                    {
                        await db.StreamAcknowledgeAsync(topic, owner.Settings.ConsumerId, id);
                    }
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    LogClaimError(owner.logger, ex.Message);
                }
            }
        }

        /// <summary>XACKs in batches: whatever acknowledgements accumulated while the previous XACK was in flight.</summary>
        private async Task AckLoopAsync()
        {
            var reader = acks.Reader;
            var batch = new List<RedisValue>(64);
            while (await reader.WaitToReadAsync(CancellationToken.None))
            {
                batch.Clear();
                while (batch.Count < MaxAckBatch && reader.TryRead(out var id))
                {
                    batch.Add(id);
                }

                try
                {
                    // Not bound to the subscription's lifetime: an ack owed for a handled message is still sent.
                    await owner.Database.StreamAcknowledgeAsync(topic, owner.Settings.ConsumerId, batch.ToArray());
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
                {
                    LogAckError(owner.logger, string.Join(' ', batch), ex.Message);
                }
            }
        }
    }
}
