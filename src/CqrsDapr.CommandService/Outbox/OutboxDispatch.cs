using Microsoft.Extensions.Options;

namespace CqrsDapr.CommandService.Outbox;

/// <summary>What a turn tells once its transaction has committed: these outbox rows exist now.</summary>
internal interface ICommittedEvents
{
    /// <summary>Called after the commit, never before: <paramref name="rows"/> carry their sequence numbers.</summary>
    void Committed(IReadOnlyList<OutboxMessage> rows);
}

/// <summary>
/// Publishes committed rows at once, from the process that committed them, without the caller waiting: no
/// notification, no wake-up of the relay and no claiming transaction per event, so an event reaches the broker about a
/// millisecond after its commit. Published rows are marked by <see cref="OutboxPublishedMarks"/>. A publish that fails,
/// takes longer than half of <see cref="OutboxOptions.RelayGrace"/>, or would exceed
/// <see cref="OutboxOptions.MaxDispatchesInFlight"/> is left to the relay, which takes the row once the grace is over:
/// nothing is lost and nothing waits on a broker that is down. Events are not published in sequence order (two turns'
/// dispatches can overtake each other); consumers never relied on it: delivery is unordered, and views order by
/// aggregate version.
/// </summary>
internal sealed partial class OutboxDispatch(
    OutboxRowPublisher publisher,
    OutboxPublishedMarks marks,
    IOptions<OutboxOptions> options,
    ILogger<OutboxDispatch> logger) : ICommittedEvents
{
    private int inFlight;

    public void Committed(IReadOnlyList<OutboxMessage> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var settings = options.Value;
        if (!settings.Enabled || !settings.PublishOnCommit)
        {
            return;
        }

        foreach (var row in rows)
        {
            if (Interlocked.Increment(ref inFlight) > settings.MaxDispatchesInFlight)
            {
                Interlocked.Decrement(ref inFlight);
                LogLeftToRelay(logger, row.Sequence, "too many publishes under way", settings.RelayGrace);
                continue;
            }

            _ = PublishAsync(row, settings.RelayGrace);
        }
    }

    private async Task PublishAsync(OutboxMessage row, TimeSpan grace)
    {
        try
        {
            using var giveUp = new CancellationTokenSource(grace / 2);
            await publisher.PublishAsync(row, giveUp.Token);
            marks.Add(row.Sequence);
        }
        catch (Exception ex)
        {
            LogPublishLeftToRelay(logger, row.Sequence, grace, ex);
        }
        finally
        {
            Interlocked.Decrement(ref inFlight);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Outbox row {Sequence} is left to the relay ({Reason}); it takes the row after {Grace}")]
    private static partial void LogLeftToRelay(ILogger logger, long sequence, string reason, TimeSpan grace);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Outbox row {Sequence} is left to the relay (its publish failed); it takes the row after {Grace}")]
    private static partial void LogPublishLeftToRelay(ILogger logger, long sequence, TimeSpan grace, Exception exception);
}
