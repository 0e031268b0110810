using System.Threading.Channels;
using CqrsDapr.CommandService.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CqrsDapr.CommandService.Outbox;

/// <summary>
/// Marks the rows <see cref="OutboxDispatch"/> published, many at a time: the first one waits
/// <see cref="OutboxOptions.MarkDelay"/>, then one statement marks it and every one published meanwhile. A mark that
/// is lost (the statement fails, the process dies first) costs a duplicate: the relay publishes the row again after
/// its grace, and consumers ignore what they have applied. On shutdown what is left is marked.
/// </summary>
internal sealed partial class OutboxPublishedMarks(
    IDbContextFactory<WriteDbContext> dbFactory,
    IOptions<OutboxOptions> options,
    TimeProvider time,
    ILogger<OutboxPublishedMarks> logger) : BackgroundService
{
    private static readonly TimeSpan ShutdownMarkTimeout = TimeSpan.FromSeconds(5);

    private readonly Channel<long> published = Channel.CreateUnbounded<long>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Row <paramref name="sequence"/> is published: mark it with the next batch.</summary>
    public void Add(long sequence) => published.Writer.TryWrite(sequence);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<long>();
        try
        {
            while (await published.Reader.WaitToReadAsync(stoppingToken))
            {
                if (options.Value.MarkDelay > TimeSpan.Zero)
                {
                    await Task.Delay(options.Value.MarkDelay, time, stoppingToken);
                }

                await MarkAsync(batch, CancellationToken.None);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        using var shutdown = new CancellationTokenSource(ShutdownMarkTimeout);
        await MarkAsync(batch, shutdown.Token);
    }

    private async Task MarkAsync(List<long> batch, CancellationToken cancellationToken)
    {
        batch.Clear();
        while (published.Reader.TryRead(out var sequence))
        {
            batch.Add(sequence);
        }

        if (batch.Count == 0)
        {
            return;
        }

        try
        {
            var sequences = batch.ToArray();
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            await db.Database.ExecuteSqlAsync(
                $"UPDATE outbox SET published_at = clock_timestamp() WHERE sequence = ANY({sequences}) AND published_at IS NULL",
                cancellationToken);
        }
        catch (Exception ex) when (ex is DbUpdateException or Npgsql.NpgsqlException or InvalidOperationException or OperationCanceledException or TimeoutException)
        {
            LogMarkFailed(logger, batch.Count, ex.GetType().Name, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Could not mark {Count} published outbox row(s) ({ErrorType}: {Error}); the relay publishes them again after its grace, and consumers ignore the duplicates")]
    private static partial void LogMarkFailed(ILogger logger, int count, string errorType, string error);
}
