using CqrsDapr.CommandService.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CqrsDapr.CommandService.Outbox;

/// <summary>
/// Publishes committed outbox rows to the broker. With <see cref="OutboxOptions.PublishOnCommit"/> (the default) the
/// rows are published right after their commit by <see cref="OutboxDispatch"/>, and the relay is the safety net: when it
/// starts it takes every unpublished row (what a crashed process left), then on each poll the rows older than
/// <see cref="OutboxOptions.RelayGrace"/> that are still unpublished (the dispatch failed, was over its limit, or its
/// process died). Without it the relay publishes every row: it wakes on the
/// commit notification (or the fallback poll). Either way it drains:
/// claims due unpublished rows in sequence order with <c>FOR UPDATE SKIP LOCKED</c> (so any number of replicas can run
/// it), publishes them and marks them published in the same transaction. A failed publish is recorded on its row
/// (attempts, next attempt, last error), the batch stops there and the relay backs off: while the broker or sidecar is
/// down nothing is lost, only delayed. Delivery is at-least-once (a crash between publish and commit publishes again).
/// </summary>
internal sealed partial class OutboxRelay : BackgroundService
{
    /// <summary>How often to poll while the notification connection is down.</summary>
    private static readonly TimeSpan DisconnectedPollInterval = TimeSpan.FromSeconds(1);

    /// <summary>The backlog gauge is refreshed at most this often (a scrape never counts).</summary>
    private static readonly TimeSpan BacklogRefreshInterval = TimeSpan.FromSeconds(1);

    private const int LastErrorMaxLength = 2000;

    private readonly IDbContextFactory<WriteDbContext> dbFactory;
    private readonly OutboxRowPublisher publisher;
    private readonly OutboxMetrics metrics;
    private readonly OutboxRetention retention;
    private readonly OutboxOptions options;
    private readonly OutboxHeartbeat heartbeat;
    private readonly TimeProvider time;
    private readonly ILogger<OutboxRelay> logger;
    private readonly OutboxWakeSignal wake = new();
    private readonly OutboxNotifications? notifications;
    private readonly TaskCompletionSource startupDrained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long lastBacklogRefresh;

    public OutboxRelay(
        IDbContextFactory<WriteDbContext> dbFactory,
        OutboxRowPublisher publisher,
        OutboxMetrics metrics,
        OutboxRetention retention,
        IOptions<OutboxOptions> options,
        OutboxHeartbeat heartbeat,
        TimeProvider time,
        ILogger<OutboxRelay> logger)
    {
        this.dbFactory = dbFactory;
        this.publisher = publisher;
        this.metrics = metrics;
        this.retention = retention;
        this.options = options.Value;
        this.heartbeat = heartbeat;
        this.time = time;
        this.logger = logger;
        // Rows published on commit need no wake-up: the relay only sweeps, on its poll, what the dispatch left.
        if (this.options.ListenForNotifications && !this.options.PublishOnCommit)
        {
            using var db = dbFactory.CreateDbContext();
            var connectionString = db.Database.GetConnectionString()
                ?? throw new InvalidOperationException("The write database has no connection string to listen on.");
            notifications = new OutboxNotifications(connectionString, wake, logger);
        }
    }

    /// <summary>Completes once the relay listens for commit notifications (never, when it only polls).</summary>
    internal Task Listening => notifications?.Listening ?? new TaskCompletionSource().Task;

    /// <summary>Completes when the relay's first drain after its start is over (it took every unpublished row, grace or not).</summary>
    internal Task StartupDrained => startupDrained.Task;

    public override void Dispose()
    {
        wake.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Enabled)
        {
            LogDisabled(logger);
            return;
        }

        heartbeat.Record();
        var listener = notifications?.RunAsync(stoppingToken) ?? Task.CompletedTask;
        var sweeper = options.Retention is { } keep ? retention.RunAsync(keep, stoppingToken) : Task.CompletedTask;
        var consecutiveFailures = 0;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                // The first drain takes every unpublished row, however young: the dispatches of this process before it
                // (re)started are gone with it. One still under way in another replica may then publish a row twice,
                // which consumers ignore. Later drains leave the rows younger than the grace to their dispatch.
                var takeYoungRows = !startupDrained.Task.IsCompleted;
                if (await DrainAsync(takeYoungRows, stoppingToken))
                {
                    startupDrained.TrySetResult();
                    consecutiveFailures = 0;
                    var poll = notifications is { IsListening: false } && DisconnectedPollInterval < options.PollInterval
                        ? DisconnectedPollInterval
                        : options.PollInterval;
                    await wake.WaitAsync(poll, stoppingToken);
                }
                else
                {
                    // The broker (or the database) is probably down: notifications are ignored until the backoff ends,
                    // so a burst of commits does not turn into a burst of doomed attempts. Only shutdown cuts it short.
                    consecutiveFailures++;
                    var backoff = OutboxBackoff.For(consecutiveFailures, options.InitialBackoff, options.MaxBackoff);
                    LogBackingOff(logger, consecutiveFailures, backoff);
                    heartbeat.Record(pause: backoff);
                    await Task.Delay(backoff, time, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            await Task.WhenAll(listener, sweeper);
        }
    }

    /// <summary>Publishes batches until no due row is left; false when a batch failed (the caller backs off).</summary>
    private async Task<bool> DrainAsync(bool takeYoungRows, CancellationToken stoppingToken)
    {
        while (true)
        {
            int claimed;
            bool failed;
            try
            {
                (claimed, failed) = await PublishBatchAsync(takeYoungRows, stoppingToken);
                heartbeat.Record(); // every batch, empty ones included: a long drain is progress, an idle poll a sign of life
                await RefreshBacklogIfDueAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogDatabaseFailed(logger, ex.GetType().Name, ex.Message);
                return false;
            }

            if (failed)
            {
                return false;
            }

            if (claimed < options.BatchSize || stoppingToken.IsCancellationRequested)
            {
                return true;
            }
        }
    }

    private async Task<(int Claimed, bool Failed)> PublishBatchAsync(bool takeYoungRows, CancellationToken stoppingToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(stoppingToken);
        await using var transaction = await db.Database.BeginTransactionAsync(stoppingToken);

        // Due and unpublished, oldest first; rows another replica holds are skipped, not waited for. Never "sequence >
        // last seen": sequences commit out of order, so a high-water mark would skip a late commit forever.
        // When rows are published on commit (OutboxDispatch), a row is the relay's only once it has waited out the
        // grace (the dispatch failed, was skipped, or its process died before it could publish), except in the drain
        // right after the relay starts.
        var claim = options.PublishOnCommit && !takeYoungRows
            ? db.Outbox.FromSql(
                $"""
                SELECT * FROM outbox
                WHERE published_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= now())
                  AND occurred_at <= now() - {options.RelayGrace}
                ORDER BY sequence
                LIMIT {options.BatchSize}
                FOR UPDATE SKIP LOCKED
                """)
            : db.Outbox.FromSql(
                $"""
                SELECT * FROM outbox
                WHERE published_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= now())
                ORDER BY sequence
                LIMIT {options.BatchSize}
                FOR UPDATE SKIP LOCKED
                """);
        var rows = await claim.AsNoTracking().ToListAsync(stoppingToken);
        if (rows.Count == 0)
        {
            return (0, false);
        }

        var published = new List<long>(rows.Count);
        (OutboxMessage Row, Exception Error)? failure = null;
        foreach (var row in rows)
        {
            if (stoppingToken.IsCancellationRequested)
            {
                break;
            }

            try
            {
                await publisher.PublishAsync(row, stoppingToken);
                published.Add(row.Sequence);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                failure = (row, ex);
                break;
            }
        }

        // From here on the batch is recorded even if shutdown begins meanwhile: what was published must be marked, or
        // a restart publishes it again (bounded by the command timeout).
        var finish = CancellationToken.None;
        if (published.Count > 0)
        {
            var sequences = published.ToArray();
            await db.Database.ExecuteSqlAsync(
                $"UPDATE outbox SET published_at = clock_timestamp() WHERE sequence = ANY({sequences})", finish);
        }

        if (failure is var (failedRow, error))
        {
            var attempts = failedRow.Attempts + 1;
            var retryIn = OutboxBackoff.For(attempts, options.InitialBackoff, options.MaxBackoff);
            // The SDK wraps the sidecar's answer (an RpcException naming the real cause) in a generic DaprException.
            var cause = error.InnerException is { } inner ? $" ({inner.GetType().Name}: {inner.Message})" : "";
            var message = $"{error.GetType().Name}: {error.Message}{cause}";
            var lastError = message.Length > LastErrorMaxLength ? message[..LastErrorMaxLength] : message;
            await db.Database.ExecuteSqlAsync(
                $"""
                UPDATE outbox SET attempts = {attempts}, next_attempt_at = now() + {retryIn}, last_error = {lastError}
                WHERE sequence = {failedRow.Sequence}
                """,
                finish);
            LogPublishFailed(
                logger, failedRow.Sequence, failedRow.EventId, failedRow.EventType, attempts, retryIn, published.Count, error.GetType().Name, error.Message + cause);
        }

        await transaction.CommitAsync(finish);
        return (rows.Count, failure is not null);
    }

    private async Task RefreshBacklogIfDueAsync(CancellationToken cancellationToken)
    {
        var now = time.GetTimestamp();
        if (lastBacklogRefresh != 0 && time.GetElapsedTime(lastBacklogRefresh, now) < BacklogRefreshInterval)
        {
            return;
        }

        lastBacklogRefresh = now;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        metrics.Backlog(await db.Outbox.LongCountAsync(m => m.PublishedAt == null, cancellationToken));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox relay disabled (Outbox:Enabled=false)")]
    private static partial void LogDisabled(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Outbox publish failed for sequence {Sequence} (event {EventId}, {EventType}, attempt {Attempts}); row retried in {RetryIn}, {PublishedCount} row(s) of the batch published before it ({ErrorType}: {Error})")]
    private static partial void LogPublishFailed(
        ILogger logger, long sequence, Guid eventId, string eventType, int attempts, TimeSpan retryIn, int publishedCount, string errorType, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox relay could not read or update the outbox ({ErrorType}: {Error})")]
    private static partial void LogDatabaseFailed(ILogger logger, string errorType, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Outbox relay backing off for {Backoff} after {Failures} failed batch(es) in a row")]
    private static partial void LogBackingOff(ILogger logger, int failures, TimeSpan backoff);
}
