namespace CqrsDapr.CommandService.Outbox;

/// <summary>
/// An auto-reset wake-up for the relay: any number of <see cref="Set"/> calls while it works fold into one wake-up,
/// and a wait ends on the signal, the timeout (the poll) or shutdown, whichever comes first.
/// </summary>
internal sealed class OutboxWakeSignal : IDisposable
{
    private readonly SemaphoreSlim semaphore = new(0, 1);
    private int pending;

    public void Set()
    {
        if (Interlocked.Exchange(ref pending, 1) == 0)
        {
            semaphore.Release();
        }
    }

    /// <summary>True when woken by <see cref="Set"/>, false when the timeout passed.</summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!await semaphore.WaitAsync(timeout, cancellationToken))
        {
            return false;
        }

        // Reset before the caller looks for work, so a Set that arrives while it works wakes it again.
        Volatile.Write(ref pending, 0);
        return true;
    }

    public void Dispose() => semaphore.Dispose();
}
