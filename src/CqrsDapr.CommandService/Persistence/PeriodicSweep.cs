namespace CqrsDapr.CommandService.Persistence;

/// <summary>
/// The loop every retention sweep of the write database runs: once at start, then every <c>interval</c> until
/// shutdown; a failed sweep is reported and the next one tries again.
/// </summary>
internal static class PeriodicSweep
{
    public static async Task RunAsync(
        TimeSpan interval, TimeProvider time, Func<CancellationToken, Task> sweep, Action<Exception> failed, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            do
            {
                try
                {
                    await sweep(stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    failed(ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
