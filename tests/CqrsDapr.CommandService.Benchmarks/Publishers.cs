using System.Collections.Concurrent;
using System.Diagnostics;
using CqrsDapr.CommandService.Outbox;
using CqrsDapr.Contracts;

namespace CqrsDapr.CommandService.Benchmarks;

/// <summary>A broker that accepts at once and remembers when each event reached it.</summary>
internal sealed class TimingPublisher : IOutboxPublisher
{
    private readonly ConcurrentDictionary<Guid, long> publishedAt = new();
    private readonly TaskCompletionSource all = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int expected = int.MaxValue;
    private int count;

    public IReadOnlyDictionary<Guid, long> PublishedAt => publishedAt;

    public Task PublishAsync(string topic, EventEnvelope envelope, CancellationToken cancellationToken)
    {
        if (publishedAt.TryAdd(envelope.EventId, Stopwatch.GetTimestamp()) && Interlocked.Increment(ref count) >= Volatile.Read(ref expected))
        {
            all.TrySetResult();
        }

        return Task.CompletedTask;
    }

    /// <summary>Completes once <paramref name="total"/> distinct events were published.</summary>
    public Task WaitForAsync(int total)
    {
        Volatile.Write(ref expected, total);
        if (Volatile.Read(ref count) >= total)
        {
            all.TrySetResult();
        }

        return all.Task;
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
