using System.Data.Common;
using System.Globalization;
using CqrsDapr.CommandService.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace CqrsDapr.CommandService.Outbox;

/// <summary>
/// Health check <c>outbox</c> (on <c>/health</c> only: restarting the process fixes no broker outage).
/// <list type="bullet">
/// <item>Degraded when the relay runs here (<c>Outbox:Enabled</c>) but has not completed an iteration for longer than
/// max(3 × <c>PollInterval</c>, 30 s) beyond a backoff it announced: it crashed or hangs. Not Unhealthy: a sidecar or
/// broker slow enough to hang every replica's publish would otherwise take every replica out of readiness, turning a
/// slow broker into a write outage, which the outbox exists to prevent (and the other replicas' relays publish this
/// one's rows meanwhile).</item>
/// <item>Unhealthy when the write database does not answer (within <c>Outbox:HealthCheckTimeout</c>): without it the
/// service cannot take a single command.</item>
/// <item>Degraded when the oldest unpublished event has waited longer than <c>Outbox:DegradedAfter</c>. Never
/// Unhealthy for that: commands still succeed (the outbox keeps their events), and taking the pod out of load
/// balancing would not bring the broker back.</item>
/// </list>
/// </summary>
internal sealed class OutboxHealthCheck(
    IDbContextFactory<WriteDbContext> dbFactory,
    OutboxHeartbeat heartbeat,
    IOptions<OutboxOptions> options,
    TimeProvider time) : IHealthCheck
{
    public const string Name = "outbox";

    /// <summary>The heartbeat may be silent this long (beyond an announced backoff) before the relay counts as stopped.</summary>
    public static readonly TimeSpan MinimumStallLimit = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The backlog in one statement, both parts read from the partial index <c>ix_outbox_unpublished</c> (unpublished
    /// rows by sequence), so its cost follows the backlog, not the event log. The oldest is the lowest sequence: the
    /// row the relay is due to publish next (occurred-at and sequence differ only by commit races of milliseconds).
    /// </summary>
    internal const string BacklogSql = """
        SELECT count(*),
               (SELECT occurred_at FROM outbox WHERE published_at IS NULL ORDER BY sequence LIMIT 1)
        FROM outbox WHERE published_at IS NULL
        """;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var settings = options.Value;
        if (settings.Enabled && RelayStalled(settings) is { } stalled)
        {
            return stalled;
        }

        long count;
        DateTimeOffset? oldest;
        try
        {
            (count, oldest) = await ReadBacklogAsync(cancellationToken);
        }
        catch (DbException ex)
        {
            return HealthCheckResult.Unhealthy($"The write database does not answer ({ex.GetType().Name}).", ex);
        }

        var age = oldest is { } occurred ? Max(time.GetUtcNow() - occurred, TimeSpan.Zero) : TimeSpan.Zero;
        var data = new Dictionary<string, object>
        {
            ["unpublished"] = count,
            ["oldestAgeSeconds"] = Math.Round(age.TotalSeconds, 3),
        };
        var description = count == 0
            ? "No event waits to be published."
            : string.Create(CultureInfo.InvariantCulture, $"{count} events unpublished, the oldest for {age.TotalSeconds:0} s");
        return age > settings.DegradedAfter
            ? HealthCheckResult.Degraded(description, data: data)
            : HealthCheckResult.Healthy(description, data);
    }

    private HealthCheckResult? RelayStalled(OutboxOptions settings)
    {
        var beat = heartbeat.Last;
        var silent = time.GetUtcNow() - beat.At;
        var limit = Max(3 * settings.PollInterval, MinimumStallLimit);
        if (silent - beat.Pause <= limit)
        {
            return null;
        }

        return HealthCheckResult.Degraded(
            string.Create(CultureInfo.InvariantCulture, $"Outbox relay stopped: no iteration for {silent.TotalSeconds:0} s (allowed {(limit + beat.Pause).TotalSeconds:0} s)."),
            data: new Dictionary<string, object> { ["relaySilentSeconds"] = Math.Round(silent.TotalSeconds, 3) });
    }

    private async Task<(long Count, DateTimeOffset? Oldest)> ReadBacklogAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var connection = db.Database.GetDbConnection();
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = BacklogSql;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), await reader.IsDBNullAsync(1, cancellationToken) ? null : reader.GetFieldValue<DateTimeOffset>(1));
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
