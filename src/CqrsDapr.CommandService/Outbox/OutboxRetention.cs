using CqrsDapr.CommandService.Persistence;
using Microsoft.EntityFrameworkCore;

namespace CqrsDapr.CommandService.Outbox;

/// <summary>
/// Deletes published rows older than <see cref="OutboxOptions.Retention"/>, in chunks so no statement holds many locks.
/// Unpublished rows are never deleted, however old. Safe to run on every replica at once.
/// </summary>
internal sealed partial class OutboxRetention(IDbContextFactory<WriteDbContext> dbFactory, TimeProvider time, ILogger<OutboxRetention> logger)
{
    private static readonly TimeSpan MaxSweepInterval = TimeSpan.FromHours(1);

    /// <summary>Deletes every published row whose <c>published_at</c> is older than <paramref name="retention"/>; returns how many.</summary>
    public async Task<int> DeleteExpiredAsync(TimeSpan retention, CancellationToken cancellationToken)
    {
        return await PeriodicSweep.DeleteInChunksAsync(
            dbFactory,
            db => db.Database.ExecuteSqlAsync(
                $"""
                DELETE FROM outbox WHERE sequence IN (
                    SELECT sequence FROM outbox WHERE published_at < now() - {retention} LIMIT {PeriodicSweep.ChunkSize})
                """,
                cancellationToken),
            deleted: null,
            cancellationToken);
    }

    /// <summary>Sweeps now and then every <paramref name="retention"/> (at most hourly) until shutdown.</summary>
    public Task RunAsync(TimeSpan retention, CancellationToken stoppingToken) =>
        PeriodicSweep.RunAsync(
            retention < MaxSweepInterval ? retention : MaxSweepInterval,
            time,
            async ct =>
            {
                var deleted = await DeleteExpiredAsync(retention, ct);
                LogSwept(logger, deleted, retention);
            },
            ex => LogSweepFailed(logger, ex.GetType().Name, ex.Message),
            stoppingToken);

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox retention deleted {Count} published row(s) older than {Retention}")]
    private static partial void LogSwept(ILogger logger, int count, TimeSpan retention);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox retention sweep failed ({ErrorType}: {Error}); retrying at the next sweep")]
    private static partial void LogSweepFailed(ILogger logger, string errorType, string error);
}
