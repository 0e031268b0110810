namespace CqrsDapr.Gateway.Tests.Infrastructure;

/// <summary>Waits for a condition the test drives towards; the deadline only guards against a hang, it measures nothing.</summary>
public static class Eventually
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    public static Task TrueAsync(Func<bool> condition, Func<string> what, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return TrueAsync(() => Task.FromResult(condition()), what, cancellationToken);
    }

    public static async Task TrueAsync(Func<Task<bool>> condition, Func<string> what, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentNullException.ThrowIfNull(what);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Deadline);
        while (!await condition())
        {
            try
            {
                await Task.Delay(10, timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"Not reached within {Deadline.TotalSeconds} s: {what()}");
            }
        }
    }
}
