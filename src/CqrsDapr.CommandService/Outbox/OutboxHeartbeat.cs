namespace CqrsDapr.CommandService.Outbox;

/// <summary>
/// The relay's sign of life: it beats after every batch and every pass of its loop, announcing how long it will
/// deliberately pause (a backoff). The <c>outbox</c> health check reads it to tell a relay that waits from one that
/// has crashed or hangs (a publish that never returns, a wedged connection).
/// </summary>
internal sealed class OutboxHeartbeat(TimeProvider time)
{
    private Beat last = new(time.GetUtcNow(), TimeSpan.Zero);

    /// <summary>When the relay last made progress and the pause it announced then (zero unless backing off).</summary>
    public sealed record Beat(DateTimeOffset At, TimeSpan Pause);

    public Beat Last => Volatile.Read(ref last);

    /// <summary>An iteration completed; <paramref name="pause"/> is a backoff the relay now sleeps through on purpose.</summary>
    public void Record(TimeSpan pause = default) => Volatile.Write(ref last, new Beat(time.GetUtcNow(), pause));
}
