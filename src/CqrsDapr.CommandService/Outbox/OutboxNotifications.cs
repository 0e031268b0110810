using Npgsql;

namespace CqrsDapr.CommandService.Outbox;

/// <summary>
/// Keeps one dedicated connection listening on <see cref="OutboxChannel.Name"/> and turns each notification (sent on
/// commit by the outbox trigger) into a wake-up. Reconnects with backoff when the connection drops;
/// <see cref="IsListening"/> tells the relay to poll quickly meanwhile. Every (re)connect also wakes the relay, since
/// commits made while nobody listened were never announced.
/// </summary>
internal sealed partial class OutboxNotifications(string connectionString, OutboxWakeSignal wake, ILogger logger)
{
    private static readonly TimeSpan FirstReconnectDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxReconnectDelay = TimeSpan.FromSeconds(30);

    private readonly TaskCompletionSource listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool isListening;

    public bool IsListening => isListening;

    /// <summary>Completes the first time LISTEN is in place (tests wait on it before relying on notifications).</summary>
    public Task Listening => listening.Task;

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        // Pooling off: a LISTENing connection must never be handed to anyone else. Keepalive: a silently dead
        // connection surfaces as an error instead of a wait that never ends.
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false };
        if (builder.KeepAlive == 0)
        {
            builder.KeepAlive = 15;
        }

        var delay = FirstReconnectDelay;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(builder.ConnectionString);
                connection.Notification += (_, _) => wake.Set();
                await connection.OpenAsync(stoppingToken);
                await using (var listen = new NpgsqlCommand($"LISTEN {OutboxChannel.Name}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                isListening = true;
                delay = FirstReconnectDelay;
                wake.Set();
                listening.TrySetResult();
                LogListening(logger, OutboxChannel.Name);
                while (true)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                isListening = false;
                wake.Set();
                LogConnectionLost(logger, ex.GetType().Name, ex.Message, delay);
            }

            // Only a reconnect delay: nothing but shutdown can shorten it (the relay polls meanwhile).
            await Task.Delay(delay, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxReconnectDelay.Ticks));
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Outbox relay listening on channel {Channel}")]
    private static partial void LogListening(ILogger logger, string channel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox notification connection lost ({ErrorType}: {Error}); polling, reconnecting in {Delay}")]
    private static partial void LogConnectionLost(ILogger logger, string errorType, string error, TimeSpan delay);
}
