using System.Diagnostics;
using CqrsDapr.CommandService.Outbox;
using CqrsDapr.Contracts;

namespace CqrsDapr.CommandService.Tests.Outbox;

/// <summary>
/// Test double of the broker: records every publish call in order (with the topic and the trace it ran in), can be
/// told to refuse, and lets a test wait for a condition on what it has seen instead of sleeping.
/// </summary>
internal sealed class RecordingPublisher : IOutboxPublisher
{
    private readonly Lock gate = new();
    private readonly List<Published> published = [];
    private readonly List<(Func<RecordingPublisher, bool> Condition, TaskCompletionSource Reached)> waiters = [];
    private int failures;
    private int started;

    public sealed record Published(string Topic, EventEnvelope Envelope, ActivityTraceId TraceId, ActivitySpanId ParentSpanId);

    /// <summary>When set, every publish waits for it first (a slow broker), then goes on as usual.</summary>
    public Task? HoldUntil { get; set; }

    /// <summary>Publishes that have begun, held or not.</summary>
    public int Started => Volatile.Read(ref started);

    /// <summary>While true every publish throws, as a broker or sidecar that is down would.</summary>
    public bool Refusing { get; set; }

    public IReadOnlyList<Published> Calls
    {
        get
        {
            lock (gate)
            {
                return [.. published];
            }
        }
    }

    public int Failures
    {
        get
        {
            lock (gate)
            {
                return failures;
            }
        }
    }

    public async Task PublishAsync(string topic, EventEnvelope envelope, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref started);
        if (HoldUntil is { } hold)
        {
            await hold.WaitAsync(cancellationToken);
        }

        // Let other relays run between calls, as a real network hop would.
        await Task.Yield();
        var activity = Activity.Current;
        lock (gate)
        {
            if (Refusing)
            {
                failures++;
                Notify();
                throw new InvalidOperationException("broker down (test double)");
            }

            published.Add(new Published(topic, envelope, activity?.TraceId ?? default, activity?.ParentSpanId ?? default));
            Notify();
        }
    }

    /// <summary>Completes when <paramref name="condition"/> holds; fails the test after <paramref name="timeout"/>.</summary>
    public async Task WaitUntilAsync(Func<RecordingPublisher, bool> condition, TimeSpan timeout, string what)
    {
        Task reached;
        lock (gate)
        {
            if (condition(this))
            {
                return;
            }

            var source = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            waiters.Add((condition, source));
            reached = source.Task;
        }

        try
        {
            await reached.WaitAsync(timeout, TestContext.Current.CancellationToken);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"Timed out after {timeout.TotalSeconds:0.#} s waiting until {what}; published {Calls.Count}, failures {Failures}.");
        }
    }

    public Task WaitForPublishedAsync(int count, TimeSpan timeout) =>
        WaitUntilAsync(p => p.published.Count >= count, timeout, $"{count} event(s) are published");

    private void Notify()
    {
        for (var i = waiters.Count - 1; i >= 0; i--)
        {
            if (waiters[i].Condition(this))
            {
                waiters[i].Reached.TrySetResult();
                waiters.RemoveAt(i);
            }
        }
    }
}
