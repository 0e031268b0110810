using CqrsDapr.CommandService.Outbox;
using CqrsDapr.CommandService.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CqrsDapr.CommandService.Tests.Outbox;

/// <summary>
/// Publishing on commit: the dispatch publishes a committed row at once and its mark follows in a batch; what it
/// cannot publish (a failure, or over its limit) the relay takes once the grace is over, and never earlier.
/// </summary>
public sealed class OutboxDispatchTests(WriteDatabaseServer server)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Committed_rows_are_published_at_once_and_marked_published_without_the_relay()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        var broker = new RecordingPublisher();
        await using var services = Compose(connectionString, broker);
        var marks = services.GetRequiredService<OutboxPublishedMarks>();
        await marks.StartAsync(Ct);
        try
        {
            var rows = await CommitAsync(connectionString, 3);

            services.GetRequiredService<ICommittedEvents>().Committed(rows);

            await broker.WaitForPublishedAsync(3, Patience);
            Assert.Equal(rows.Select(r => r.EventId).Order(), broker.Calls.Select(c => c.Envelope.EventId).Order());
            await WaitUntilAsync(async () => (await OutboxRows.UnpublishedAsync(connectionString)).Count == 0, "the published rows are marked");
        }
        finally
        {
            await marks.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_row_whose_publish_failed_is_taken_by_the_relay_once_its_grace_is_over()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        var broker = new RecordingPublisher { Refusing = true };
        await using var services = Compose(connectionString, broker, ("Outbox:RelayGrace", "00:00:01"));
        var relay = services.GetRequiredService<OutboxRelay>();
        await relay.StartAsync(Ct);
        try
        {
            await relay.StartupDrained.WaitAsync(Patience, Ct);
            var rows = await CommitAsync(connectionString, 1);
            services.GetRequiredService<ICommittedEvents>().Committed(rows);
            await broker.WaitUntilAsync(b => b.Failures >= 1, Patience, "the dispatch's publish failed");
            broker.Refusing = false;

            await broker.WaitForPublishedAsync(1, Patience);

            var stored = await WaitUntilMarkedAsync(connectionString, rows[0].Sequence);
            Assert.True(stored.PublishedAt - stored.OccurredAt >= TimeSpan.FromSeconds(1), $"published {stored.PublishedAt - stored.OccurredAt} after it occurred, within the grace");
        }
        finally
        {
            await relay.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task The_relay_leaves_a_row_younger_than_the_grace_to_its_dispatch()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        var broker = new RecordingPublisher();
        await using var services = Compose(connectionString, broker, ("Outbox:RelayGrace", "01:00:00"));
        var heartbeat = services.GetRequiredService<OutboxHeartbeat>();
        var relay = services.GetRequiredService<OutboxRelay>();
        await relay.StartAsync(Ct);
        try
        {
            await relay.StartupDrained.WaitAsync(Patience, Ct);
            var rows = await CommitAsync(connectionString, 1);

            // Three polls after the commit (the relay beats after each): each one saw the row and left it.
            for (var poll = 0; poll < 3; poll++)
            {
                var last = heartbeat.Last.At;
                await WaitUntilAsync(() => Task.FromResult(heartbeat.Last.At > last), "the relay polls");
            }

            Assert.Empty(broker.Calls);
            Assert.Equal([rows[0].Sequence], await OutboxRows.UnpublishedAsync(connectionString));
        }
        finally
        {
            await relay.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_relay_that_starts_takes_every_unpublished_row_at_once_grace_or_not()
    {
        // What a process that crashed between its commits and their dispatch leaves, found by its relay on restart.
        var connectionString = await server.NewMigratedDatabaseAsync();
        var broker = new RecordingPublisher();
        await using var services = Compose(connectionString, broker, ("Outbox:RelayGrace", "01:00:00"));
        var rows = await CommitAsync(connectionString, 2);
        var relay = services.GetRequiredService<OutboxRelay>();
        await relay.StartAsync(Ct);
        try
        {
            await relay.StartupDrained.WaitAsync(Patience, Ct);

            Assert.Equal(rows.Select(r => r.EventId), broker.Calls.Select(c => c.Envelope.EventId));
            Assert.Empty(await OutboxRows.UnpublishedAsync(connectionString));
        }
        finally
        {
            await relay.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_commit_beyond_the_publishes_in_flight_is_left_to_the_relay()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var broker = new RecordingPublisher { HoldUntil = release.Task };
        await using var services = Compose(connectionString, broker, ("Outbox:MaxDispatchesInFlight", "1"));
        var marks = services.GetRequiredService<OutboxPublishedMarks>();
        await marks.StartAsync(Ct);
        try
        {
            var rows = await CommitAsync(connectionString, 2);

            services.GetRequiredService<ICommittedEvents>().Committed(rows); // the first is held, the second over the limit
            Assert.Equal(1, broker.Started);
            release.SetResult();

            await broker.WaitForPublishedAsync(1, Patience);
            await WaitUntilMarkedAsync(connectionString, rows[0].Sequence);
            Assert.Equal(1, broker.Started);
            Assert.Equal([rows[1].Sequence], await OutboxRows.UnpublishedAsync(connectionString));
        }
        finally
        {
            await marks.StopAsync(CancellationToken.None);
        }
    }

    private static ServiceProvider Compose(string connectionString, RecordingPublisher broker, params (string Key, string Value)[] settings)
    {
        var values = new Dictionary<string, string?>
        {
            ["Outbox:PublishOnCommit"] = "true",
            ["Outbox:PollInterval"] = "00:00:00.050",
            ["Outbox:MarkDelay"] = "00:00:00.050",
        };
        foreach (var (key, value) in settings)
        {
            values[key] = value;
        }

        return RelayHost.Compose(connectionString, broker, values);
    }

    /// <summary>Commits <paramref name="count"/> rows in one transaction, as a turn does; returns them with their sequences.</summary>
    private static async Task<List<OutboxMessage>> CommitAsync(string connectionString, int count)
    {
        await using var db = WriteDatabaseServer.CreateContext(connectionString);
        var rows = Enumerable.Range(0, count).Select(OutboxRows.ProductCreated).ToList();
        db.Outbox.AddRange(rows);
        await db.SaveChangesAsync(Ct);
        return rows;
    }

    private static async Task<OutboxMessage> WaitUntilMarkedAsync(string connectionString, long sequence)
    {
        OutboxMessage? stored = null;
        await WaitUntilAsync(async () =>
        {
            await using var db = WriteDatabaseServer.CreateContext(connectionString);
            stored = await db.Outbox.AsNoTracking().SingleAsync(m => m.Sequence == sequence, Ct);
            return stored.PublishedAt is not null;
        }, $"row {sequence} is marked published");
        return stored!;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out after {Patience.TotalSeconds:0} s waiting until {what}.");
            await Task.Delay(20, Ct);
        }
    }
}
