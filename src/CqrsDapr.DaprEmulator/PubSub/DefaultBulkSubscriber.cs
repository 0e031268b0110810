using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.DaprEmulator.PubSub;

/// <summary>
/// daprd 1.16's <c>defaultBulkSubscriber</c> (<c>pkg/runtime/pubsub/default_bulksub.go</c>), which every component
/// without a native bulk subscribe gets, <c>pubsub.redis</c> and <c>pubsub.in-memory</c> included: the component
/// delivers messages one by one to <see cref="HandleAsync"/>, which gives each an entry id, queues it and waits for
/// its batch's verdict; a single loop collects up to <c>maxMessagesCount</c> entries, or what arrived within
/// <c>maxAwaitDurationMs</c> of the batch's first one, and hands them to the bulk handler; a failed entry throws back
/// into the component, which redelivers it as it does any failed message.
/// <para>
/// Consequence, as in daprd: a batch holds at most as many messages as the component hands over concurrently
/// (pubsub.redis <c>concurrency</c>, default 10), because every handler call waits for its batch; with fewer in flight
/// than <c>maxMessagesCount</c>, batches are sent when the window closes. One batch is delivered at a time.
/// </para>
/// </summary>
internal sealed partial class DefaultBulkSubscriber : IAsyncDisposable
{
    private readonly Func<IReadOnlyList<BulkEntry>, CancellationToken, Task<string?[]>> bulkHandler;
    private readonly int maxCount;
    private readonly TimeSpan maxAwait;
    private readonly ILogger logger;
    private readonly Channel<Waiting> queue;
    private readonly CancellationTokenSource stop = new();
    private readonly Task loop;

    public DefaultBulkSubscriber(int maxMessagesCount, TimeSpan maxAwaitDuration, Func<IReadOnlyList<BulkEntry>, CancellationToken, Task<string?[]>> bulkHandler, ILogger logger)
    {
        this.bulkHandler = bulkHandler;
        this.logger = logger;
        maxCount = Math.Max(1, maxMessagesCount);
        maxAwait = maxAwaitDuration;
        // daprd: a Go channel buffered to maxMessagesCount; senders block when it is full.
        queue = Channel.CreateBounded<Waiting>(new BoundedChannelOptions(maxCount) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        loop = Task.Run(BatchLoopAsync, CancellationToken.None);
    }

    /// <summary>The component's per-message handler: returns once the message's batch acked it, throws if it failed.</summary>
    public async Task HandleAsync(PubSubMessage message, CancellationToken cancellationToken)
    {
        var waiting = new Waiting(new BulkEntry(Guid.NewGuid().ToString(), message));
        await queue.Writer.WriteAsync(waiting, cancellationToken);
        var error = await waiting.Verdict.Task.WaitAsync(cancellationToken);
        if (error is not null)
        {
            throw new DeliveryFailedException(error);
        }
    }

    public async ValueTask DisposeAsync()
    {
        queue.Writer.TryComplete();
        await stop.CancelAsync();
        await loop;
        while (queue.Reader.TryRead(out var left))
        {
            left.Verdict.TrySetCanceled(stop.Token);
        }

        stop.Dispose();
    }

    private async Task BatchLoopAsync()
    {
        var reader = queue.Reader;
        var batch = new List<Waiting>(maxCount);
        try
        {
            while (await reader.WaitToReadAsync(stop.Token))
            {
                batch.Clear();
                Drain(reader, batch);
                if (batch.Count == 0)
                {
                    continue;
                }

                if (batch.Count < maxCount)
                {
                    // A partial batch waits for more until maxAwaitDuration after its first message, no longer.
                    using var window = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
                    window.CancelAfter(maxAwait);
                    try
                    {
                        while (batch.Count < maxCount && await reader.WaitToReadAsync(window.Token))
                        {
                            Drain(reader, batch);
                        }
                    }
                    catch (OperationCanceledException) when (!stop.IsCancellationRequested)
                    {
                    }
                }

                await FlushAsync(batch);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }

        foreach (var waiting in batch)
        {
            waiting.Verdict.TrySetCanceled(stop.Token);
        }
    }

    private void Drain(ChannelReader<Waiting> reader, List<Waiting> batch)
    {
        while (batch.Count < maxCount && reader.TryRead(out var waiting))
        {
            batch.Add(waiting);
        }
    }

    /// <summary>daprd 1.16 <c>flushMessages</c>: the bulk handler's per-entry errors become each waiting handler's result.</summary>
    private async Task FlushAsync(List<Waiting> batch)
    {
        var entries = batch.Select(w => w.Entry).ToList();
        string?[] errors;
        try
        {
            errors = await bulkHandler(entries, stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogBatchFailed(logger, batch.Count, ex.Message);
            errors = new string?[batch.Count];
            Array.Fill(errors, ex.Message);
        }

        for (var i = 0; i < batch.Count; i++)
        {
            batch[i].Verdict.TrySetResult(errors[i]);
        }

        batch.Clear();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "bulk delivery of {Count} message(s) failed: {Error}")]
    private static partial void LogBatchFailed(ILogger logger, int count, string error);

    private sealed class Waiting(BulkEntry entry)
    {
        public BulkEntry Entry { get; } = entry;

        public TaskCompletionSource<string?> Verdict { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
