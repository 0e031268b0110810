using System.Collections.Concurrent;
using System.Diagnostics;
using CqrsDapr.CommandService.Outbox;
using CqrsDapr.Contracts;

namespace CqrsDapr.CommandService.Benchmarks;

/// <summary>A broker that accepts at once and remembers when each event reached it.</summary>
internal sealed class TimingPublisher : IOutboxPublisher
{
    private readonly ConcurrentDictionary<Guid, long> publishedAt = new();
    private readonly Lock gate = new();
    private (int Target, TaskCompletionSource Reached)? waiter;

    public IReadOnlyDictionary<Guid, long> PublishedAt => publishedAt;

    public Task PublishAsync(string topic, EventEnvelope envelope, CancellationToken cancellationToken)
    {
        if (publishedAt.TryAdd(envelope.EventId, Stopwatch.GetTimestamp()))
        {
            lock (gate)
            {
                if (waiter is { } w && publishedAt.Count >= w.Target)
                {
                    w.Reached.TrySetResult();
                    waiter = null;
                }
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>Completes once <paramref name="total"/> distinct events were published.</summary>
    public Task WaitForAsync(int total)
    {
        lock (gate)
        {
            if (publishedAt.Count >= total)
            {
                return Task.CompletedTask;
            }

            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            waiter = (total, reached);
            return reached.Task;
        }
    }
}

/// <summary>A broker that accepts at once and only counts (the drain benchmark measures the relay, not a broker).</summary>
internal sealed class CountingPublisher(int expected) : IOutboxPublisher
{
    private readonly TaskCompletionSource all = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int count;

    public Task All => all.Task;

    public int Count => Volatile.Read(ref count);

    public Task PublishAsync(string topic, EventEnvelope envelope, CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref count) >= expected)
        {
            all.TrySetResult();
        }

        return Task.CompletedTask;
    }
}
