using CqrsDapr.CommandService.Outbox;
using CqrsDapr.CommandService.Tests.Infrastructure;
using CqrsDapr.Contracts;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace CqrsDapr.CommandService.Tests.Outbox;

/// <summary>
/// The <c>outbox</c> health check against a real database, on a fake clock: rows are committed with occurred-at times
/// relative to it and the relay is disabled (nothing publishes them) unless a test is about the relay's heartbeat.
/// </summary>
public sealed class OutboxHealthCheckTests(WriteDatabaseServer server)
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_empty_outbox_is_healthy()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        await using var services = Compose(connectionString, new FakeTimeProvider(Now));

        var entry = await CheckAsync(services);

        Assert.Equal(HealthStatus.Healthy, entry.Status);
        Assert.Equal(0L, entry.Data["unpublished"]);
    }

    [Fact]
    public async Task Unpublished_events_are_healthy_up_to_DegradedAfter_and_degraded_just_beyond_it()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        var clock = new FakeTimeProvider(Now);
        await using var services = Compose(connectionString, clock);
        await CommitAsync(connectionString, Now - TimeSpan.FromSeconds(30), Now - TimeSpan.FromSeconds(2));

        var atLimit = await CheckAsync(services);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        var beyond = await CheckAsync(services);

        Assert.Equal(HealthStatus.Healthy, atLimit.Status);
        Assert.Equal(HealthStatus.Degraded, beyond.Status);
        Assert.Equal(2L, beyond.Data["unpublished"]);
        Assert.Equal(30.001, beyond.Data["oldestAgeSeconds"]);
    }

    [Fact]
    public async Task Degraded_names_the_backlog_and_the_oldest_age_and_published_rows_do_not_count()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        await using var services = Compose(connectionString, new FakeTimeProvider(Now));
        var sequences = await CommitAsync(connectionString, Now - TimeSpan.FromHours(2), Now - TimeSpan.FromSeconds(95), Now - TimeSpan.FromSeconds(40), Now);
        await using (var db = WriteDatabaseServer.CreateContext(connectionString))
        {
            await db.Database.ExecuteSqlAsync($"UPDATE outbox SET published_at = now() WHERE sequence = {sequences[0]}", Ct);
        }

        var entry = await CheckAsync(services);

        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Equal("3 events unpublished, the oldest for 95 s", entry.Description);
        Assert.Equal(3L, entry.Data["unpublished"]);
        Assert.Equal(95.0, entry.Data["oldestAgeSeconds"]);
    }

    [Fact]
    public async Task A_database_that_does_not_exist_is_unhealthy()
    {
        var connectionString = new NpgsqlConnectionStringBuilder(await server.NewMigratedDatabaseAsync()) { Database = "no_such_database" }.ConnectionString;
        await using var services = Compose(connectionString, new FakeTimeProvider(Now));

        var entry = await CheckAsync(services);

        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.IsType<PostgresException>(entry.Exception);
    }

    [Fact]
    public async Task A_database_that_does_not_answer_within_HealthCheckTimeout_is_unhealthy()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        await using var services = Compose(connectionString, TimeProvider.System, ("Outbox:HealthCheckTimeout", "00:00:00.300"));
        await using var blocker = WriteDatabaseServer.CreateContext(connectionString);
        await using var transaction = await blocker.Database.BeginTransactionAsync(Ct);
        await blocker.Database.ExecuteSqlAsync($"LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE", Ct);

        var started = TimeProvider.System.GetTimestamp();
        var entry = await CheckAsync(services);

        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.True(TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromSeconds(10), "the check gave up at its timeout");
    }

    [Theory]
    [InlineData("00:00:05", 30)] // 3 × 15 s < 30 s: the floor
    [InlineData("00:00:20", 60)] // 3 × PollInterval
    public async Task An_enabled_relay_silent_beyond_max_of_3_polls_and_30_s_is_degraded(string pollInterval, int limitSeconds)
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        var clock = new FakeTimeProvider(Now);
        await using var services = Compose(connectionString, clock, ("Outbox:Enabled", "true"), ("Outbox:PollInterval", pollInterval));
        services.GetRequiredService<OutboxHeartbeat>().Record();

        clock.Advance(TimeSpan.FromSeconds(limitSeconds));
        var atLimit = await CheckAsync(services);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        var beyond = await CheckAsync(services);

        Assert.Equal(HealthStatus.Healthy, atLimit.Status);
        Assert.Equal(HealthStatus.Degraded, beyond.Status);
        Assert.StartsWith("Outbox relay stopped", beyond.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_disabled_relay_is_not_expected_to_beat()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        var clock = new FakeTimeProvider(Now);
        await using var services = Compose(connectionString, clock);

        clock.Advance(TimeSpan.FromHours(1));

        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(services)).Status);
    }

    [Fact]
    public async Task A_backoff_the_relay_announced_is_not_a_stop()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        var clock = new FakeTimeProvider(Now);
        await using var services = Compose(connectionString, clock, ("Outbox:Enabled", "true"));
        services.GetRequiredService<OutboxHeartbeat>().Record(pause: TimeSpan.FromMinutes(5));

        clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(30));
        var atLimit = await CheckAsync(services);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        var beyond = await CheckAsync(services);

        Assert.Equal(HealthStatus.Healthy, atLimit.Status);
        Assert.Equal(HealthStatus.Degraded, beyond.Status);
    }

    [Fact]
    public async Task A_running_relay_keeps_beating_and_one_stuck_in_a_publish_is_reported_stopped()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        var clock = new FakeTimeProvider(Now);
        var broker = new StuckPublisher();
        var settings = new Dictionary<string, string?> { ["Outbox:PollInterval"] = "00:00:00.050" };
        await using var services = RelayHost.Compose(connectionString, broker, settings, clock);
        var relay = services.GetRequiredService<OutboxRelay>();
        var heartbeat = services.GetRequiredService<OutboxHeartbeat>();
        await relay.StartAsync(Ct);
        try
        {
            // Past its start (which beats too; ExecuteAsync runs in the background), idle, it beats after every poll:
            // a beat stamped after the clock moved on shows it is alive.
            await relay.Listening.WaitAsync(TimeSpan.FromSeconds(30), Ct);
            clock.Advance(TimeSpan.FromMinutes(1));
            await WaitUntilAsync(() => heartbeat.Last.At == clock.GetUtcNow(), "the idle relay beats");
            Assert.Equal(HealthStatus.Healthy, (await CheckAsync(services)).Status);

            // A publish that never returns: no beat any more.
            await OutboxRows.CommitAsync(connectionString, 1);
            await broker.Entered.WaitAsync(TimeSpan.FromSeconds(30), Ct);
            clock.Advance(TimeSpan.FromSeconds(31));
            var entry = await CheckAsync(services);

            Assert.Equal(HealthStatus.Degraded, entry.Status);
            Assert.StartsWith("Outbox relay stopped", entry.Description, StringComparison.Ordinal);
        }
        finally
        {
            await relay.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task The_backlog_query_reads_the_partial_index_of_unpublished_rows()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        await using var db = WriteDatabaseServer.CreateContext(connectionString);
        // An event log as it grows: many published rows, a few waiting.
        await db.Database.ExecuteSqlAsync(
            $"""
            INSERT INTO outbox (event_id, aggregate_type, aggregate_id, aggregate_version, event_type, schema_version, payload, occurred_at, published_at, attempts)
            SELECT gen_random_uuid(), 'product', 'p' || n, 1, 'ProductCreated', 1, '[]'::jsonb, now(), CASE WHEN n <= 49990 THEN now() END, 0
            FROM generate_series(1, 50000) AS n
            """,
            Ct);
        await db.Database.ExecuteSqlAsync($"ANALYZE outbox", Ct);

        var plan = string.Join('\n', await db.Database.SqlQueryRaw<string>("EXPLAIN " + OutboxHealthCheck.BacklogSql).ToListAsync(Ct));
        TestContext.Current.TestOutputHelper?.WriteLine(plan);

        Assert.Contains("ix_outbox_unpublished", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("Seq Scan", plan, StringComparison.Ordinal);
    }

    private static ServiceProvider Compose(string connectionString, TimeProvider time, params (string Key, string Value)[] settings)
    {
        var values = new Dictionary<string, string?> { ["Outbox:Enabled"] = "false" };
        foreach (var (key, value) in settings)
        {
            values[key] = value;
        }

        return RelayHost.Compose(connectionString, new RecordingPublisher(), values, time);
    }

    /// <summary>Runs the check as <c>/health</c> does (its registration, with its timeout and failure status).</summary>
    private static async Task<HealthReportEntry> CheckAsync(IServiceProvider services)
    {
        var report = await services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Name == OutboxHealthCheck.Name, Ct);
        return report.Entries[OutboxHealthCheck.Name];
    }

    /// <summary>Commits one event per occurred-at, in that order (sequence follows occurrence, as on the write path).</summary>
    private static async Task<long[]> CommitAsync(string connectionString, params DateTimeOffset[] occurredAt)
    {
        await using var db = WriteDatabaseServer.CreateContext(connectionString);
        var rows = occurredAt.Select((at, n) =>
        {
            var row = OutboxRows.ProductCreated(n);
            row.OccurredAt = at;
            return row;
        }).ToList();
        foreach (var row in rows)
        {
            db.Outbox.Add(row);
            await db.SaveChangesAsync(Ct);
        }

        return [.. rows.Select(r => r.Sequence)];
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = TimeProvider.System.GetTimestamp();
        while (!condition())
        {
            Assert.True(TimeProvider.System.GetElapsedTime(deadline) < TimeSpan.FromSeconds(30), $"timed out waiting until {what}");
            await Task.Delay(20, Ct);
        }
    }

    /// <summary>A broker call that hangs until shutdown, as a wedged sidecar connection would.</summary>
    private sealed class StuckPublisher : IOutboxPublisher
    {
        private readonly TaskCompletionSource entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Entered => entered.Task;

        public async Task PublishAsync(string topic, EventEnvelope envelope, CancellationToken cancellationToken)
        {
            entered.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
    }
}
