using Microsoft.EntityFrameworkCore;

namespace CqrsDapr.CommandService.Persistence;

/// <summary>
/// What every retention sweep of the write database does: deletes in chunks (no statement holds many locks), once at
/// start and then every <c>interval</c> until shutdown; a failed sweep is reported and the next one tries again.
/// </summary>
internal static class PeriodicSweep
{
    public const int ChunkSize = 5_000;

    /// <summary>
    /// Runs <paramref name="deleteChunk"/> (a statement deleting at most <see cref="ChunkSize"/> rows, each in a fresh
    /// context) until one deletes fewer; returns the total.
    /// </summary>
    public static async Task<int> DeleteInChunksAsync(
        IDbContextFactory<WriteDbContext> dbFactory, Func<WriteDbContext, Task<int>> deleteChunk, Action<int>? deleted, CancellationToken cancellationToken)
    {
        var total = 0;
        int count;
        do
        {
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            count = await deleteChunk(db);
            deleted?.Invoke(count);
            total += count;
        }
        while (count == ChunkSize);

        return total;
    }

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
