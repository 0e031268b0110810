using CqrsDapr.CommandService.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CqrsDapr.CommandService.Idempotency;

/// <summary>
/// Deletes idempotency records older than <see cref="IdempotencyOptions.Retention"/>: at start, then every
/// <see cref="IdempotencyOptions.EffectiveSweepInterval"/>. Chunked, so no statement holds many locks; rows another
/// replica's sweep (or an actor turn replacing an expired key) holds are skipped, so every replica can run it at once.
/// A failed sweep is logged and retried at the next one. Expiry itself does not wait for the sweep:
/// <see cref="IdempotencyKeys.FindAsync"/> ignores expired records and the actor turn replaces them.
/// </summary>
internal sealed partial class IdempotencyRetention(
    IDbContextFactory<WriteDbContext> dbFactory,
    IOptions<IdempotencyOptions> options,
    IdempotencyMetrics metrics,
    TimeProvider time,
    ILogger<IdempotencyRetention> logger) : BackgroundService
{
    internal const int ChunkSize = PeriodicSweep.ChunkSize;

    /// <summary>Deletes every record created before the retention (on <see cref="TimeProvider"/>'s clock); returns how many.</summary>
    public async Task<int> DeleteExpiredAsync(CancellationToken cancellationToken)
    {
        var expiredBefore = options.Value.ExpiredBefore(time.GetUtcNow());
        return await PeriodicSweep.DeleteInChunksAsync(
            dbFactory,
            db => db.Database.ExecuteSqlAsync(
                $"""
                DELETE FROM idempotency_records WHERE key IN (
                    SELECT key FROM idempotency_records WHERE created_at < {expiredBefore} LIMIT {ChunkSize} FOR UPDATE SKIP LOCKED)
                """,
                cancellationToken),
            metrics.Deleted,
            cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var retention = options.Value.Retention;
        return PeriodicSweep.RunAsync(
            options.Value.EffectiveSweepInterval,
            time,
            async ct =>
            {
                var deleted = await DeleteExpiredAsync(ct);
                LogSwept(logger, deleted, retention);
            },
            ex => LogSweepFailed(logger, ex.GetType().Name, ex.Message),
            stoppingToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Idempotency retention deleted {Count} record(s) older than {Retention}")]
    private static partial void LogSwept(ILogger logger, int count, TimeSpan retention);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Idempotency retention sweep failed ({ErrorType}: {Error}); retrying at the next sweep")]
    private static partial void LogSweepFailed(ILogger logger, string errorType, string error);
}
