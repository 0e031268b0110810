using System.Diagnostics;
using System.Text.Json;
using CqrsDapr.CommandService.Outbox;
using CqrsDapr.CommandService.Tests.Infrastructure;
using CqrsDapr.Contracts;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CqrsDapr.CommandService.Tests.Outbox;

public sealed class OutboxRelayTests(WriteDatabaseServer server)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_committed_event_is_published_exactly_once_in_sequence_order()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        var broker = new RecordingPublisher();
        await using var relay = await RelayHost.StartAsync(connectionString, broker, Settings(("Outbox:BatchSize", "7")));

        var committed = new List<long>();
        for (var transaction = 0; transaction < 5; transaction++)
        {
            committed.AddRange(await OutboxRows.CommitAsync(connectionString, 20, firstNumber: transaction * 20));
        }

        await broker.WaitForPublishedAsync(committed.Count, Patience);
        await relay.StopAsync();

        Assert.Equal(committed.Order(), broker.Calls.Select(c => c.Envelope.Sequence));
        Assert.All(broker.Calls, c => Assert.Equal(Topics.Products, c.Topic));
        var rows = await OutboxRows.AllAsync(connectionString);
        Assert.All(rows, row => Assert.NotNull(row.PublishedAt));

        // The envelope is the row, field for field, with the stored payload as its data.
        var first = rows[0];
        var envelope = broker.Calls[0].Envelope;
        Assert.Equal(
            (first.EventId, first.EventType, first.SchemaVersion, first.AggregateType, first.AggregateId, first.AggregateVersion, first.Sequence, first.CorrelationId, first.CausationId),
            (envelope.EventId, envelope.EventType, envelope.SchemaVersion, envelope.AggregateType, envelope.AggregateId, envelope.AggregateVersion, envelope.Sequence, envelope.CorrelationId, envelope.CausationId));
        Assert.Equal(first.OccurredAt, envelope.OccurredAt);
        Assert.Equal(JsonDocument.Parse(first.Payload).RootElement.GetRawText(), envelope.Data.GetRawText());
        var roundTripped = JsonSerializer.Deserialize(JsonSerializer.Serialize(envelope, ContractsJson.Default.EventEnvelope), ContractsJson.Default.EventEnvelope)!;
        Assert.Equal(first.AggregateId, roundTripped.DataAs<Contracts.Products.ProductCreated>().Product.Id.ToString());
    }

    [Fact]
    public async Task A_failed_publish_keeps_the_rows_unpublished_with_the_error_and_they_are_published_once_the_broker_recovers()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        var broker = new RecordingPublisher { Refusing = true };
        await using var relay = await RelayHost.StartAsync(connectionString, broker);
        var committed = await OutboxRows.CommitAsync(connectionString, 3);

        // Two failures: the relay tried, recorded the first failure, backed off and tried again.
        await broker.WaitUntilAsync(p => p.Failures >= 2, Patience, "the relay retried after a failure");
        var whileDown = await OutboxRows.AllAsync(connectionString);
        Assert.All(whileDown, row => Assert.Null(row.PublishedAt));
        var firstRow = whileDown.Single(row => row.Sequence == committed.Min());
        Assert.True(firstRow.Attempts >= 1, "the failed attempt is counted on the row");
        Assert.Contains("broker down", firstRow.LastError, StringComparison.Ordinal);
        Assert.NotNull(firstRow.NextAttemptAt);
        Assert.Empty(broker.Calls);

        broker.Refusing = false;
        await broker.WaitForPublishedAsync(committed.Length, Patience);
        await relay.StopAsync();

        Assert.Equal(committed.Order(), broker.Calls.Select(c => c.Envelope.Sequence).Order());
        Assert.Equal(committed.Length, broker.Calls.Select(c => c.Envelope.EventId).Distinct().Count());
        var afterRecovery = await OutboxRows.AllAsync(connectionString);
        Assert.All(afterRecovery, row => Assert.NotNull(row.PublishedAt));
        Assert.True(afterRecovery.Single(row => row.Sequence == committed.Min()).Attempts >= 1);
    }

    [Fact]
    public async Task Two_relays_never_publish_a_row_twice_and_together_publish_all_of_them()
    {
        const int count = 2_000;
        var connectionString = await server.NewMigratedDatabaseAsync();
        var committed = new List<long>();
        for (var transaction = 0; transaction < 4; transaction++)
        {
            committed.AddRange(await OutboxRows.CommitAsync(connectionString, count / 4, firstNumber: transaction * (count / 4)));
        }

        var broker = new RecordingPublisher();
        var settings = Settings(("Outbox:BatchSize", "50"));
        await using (var first = await RelayHost.StartAsync(connectionString, broker, settings))
        await using (var second = await RelayHost.StartAsync(connectionString, broker, settings))
        {
            await broker.WaitForPublishedAsync(count, Patience);

            // Stopped only after everything was published once: a double publish would show up below.
        }

        var sequences = broker.Calls.Select(c => c.Envelope.Sequence).ToList();
        Assert.Equal(count, sequences.Count);
        Assert.Equal(committed.Order(), sequences.Order());
        Assert.Empty(await OutboxRows.UnpublishedAsync(connectionString));
    }

    [Fact]
    public async Task With_an_hour_long_poll_a_committed_insert_is_published_promptly_and_a_rolled_back_one_never()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        var broker = new RecordingPublisher();
        await using var relay = await RelayHost.StartAsync(connectionString, broker, Settings(("Outbox:PollInterval", "01:00:00")));
        await relay.Relay.Listening.WaitAsync(Patience, Ct);

        await using (var db = WriteDatabaseServer.CreateContext(connectionString))
        {
            await using var transaction = await db.Database.BeginTransactionAsync(Ct);
            db.Outbox.Add(OutboxRows.ProductCreated(1));
            await db.SaveChangesAsync(Ct);
            await transaction.RollbackAsync(Ct);
        }

        // Bounded negative check; it also lets the relay settle after its start-up drain, so from here on only a
        // notification can wake it.
        await Task.Delay(TimeSpan.FromMilliseconds(500), Ct);
        Assert.Empty(broker.Calls);

        var started = Stopwatch.StartNew();
        var committed = await OutboxRows.CommitAsync(connectionString, 1, firstNumber: 2);
        await broker.WaitForPublishedAsync(1, TimeSpan.FromSeconds(10));
        started.Stop();

        Assert.Equal(committed, broker.Calls.Select(c => c.Envelope.Sequence));
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(10), $"published after {started.Elapsed}");
    }

    [Fact]
    public async Task A_row_committed_with_a_lower_sequence_after_a_higher_one_was_published_is_still_published()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        var broker = new RecordingPublisher();
        await using var relay = await RelayHost.StartAsync(connectionString, broker, Settings(("Outbox:PollInterval", "00:00:00.200")));

        await using var slow = WriteDatabaseServer.CreateContext(connectionString);
        await using var slowTransaction = await slow.Database.BeginTransactionAsync(Ct);
        var late = OutboxRows.ProductCreated(1);
        slow.Outbox.Add(late);
        await slow.SaveChangesAsync(Ct); // takes its sequence now, commits later

        var early = await OutboxRows.CommitAsync(connectionString, 1, firstNumber: 2);
        await broker.WaitForPublishedAsync(1, Patience);
        Assert.True(late.Sequence < early[0], "the slow transaction must hold the lower sequence");

        await slowTransaction.CommitAsync(Ct);
        await broker.WaitForPublishedAsync(2, Patience);

        Assert.Equal([early[0], late.Sequence], broker.Calls.Select(c => c.Envelope.Sequence));
    }

    [Fact]
    public async Task The_publish_continues_the_trace_of_the_command_that_raised_the_event()
    {
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "CqrsDapr.CommandService", // not via CommandServiceTelemetry: this runs inside its type initializer
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        var connectionString = await server.NewMigratedDatabaseAsync();
        var command = new Activity("command").SetIdFormat(ActivityIdFormat.W3C).Start();
        try
        {
            await OutboxRows.CommitAsync(connectionString, 1);
        }
        finally
        {
            command.Stop(); // the relay runs outside the command's trace: only the stored context can link them
        }

        Assert.Equal(command.Id, Assert.Single(await OutboxRows.AllAsync(connectionString)).TraceParent);
        Assert.Null(Activity.Current);

        var broker = new RecordingPublisher();
        await using var relay = await RelayHost.StartAsync(connectionString, broker);
        await broker.WaitForPublishedAsync(1, Patience);

        var call = Assert.Single(broker.Calls);
        Assert.Equal(command.TraceId, call.TraceId);
        Assert.Equal(command.SpanId, call.ParentSpanId);
    }

    [Fact]
    public async Task Retention_deletes_only_published_rows_older_than_the_retention()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        var sequences = await OutboxRows.CommitAsync(connectionString, 4);
        await using (var db = WriteDatabaseServer.CreateContext(connectionString))
        {
            // [0] published 2 h ago, [1] published 10 min ago, [2] unpublished for 3 h, [3] just committed.
            await db.Database.ExecuteSqlAsync($"UPDATE outbox SET published_at = now() - interval '2 hours' WHERE sequence = {sequences[0]}", Ct);
            await db.Database.ExecuteSqlAsync($"UPDATE outbox SET published_at = now() - interval '10 minutes' WHERE sequence = {sequences[1]}", Ct);
            await db.Database.ExecuteSqlAsync($"UPDATE outbox SET occurred_at = now() - interval '3 hours' WHERE sequence = {sequences[2]}", Ct);
        }

        await using var services = RelayHost.Compose(connectionString, new RecordingPublisher(), Settings(("Outbox:Retention", "01:00:00")));
        var retention = services.GetRequiredService<OutboxRetention>();
        var deleted = await retention.DeleteExpiredAsync(services.GetRequiredService<IOptions<OutboxOptions>>().Value.Retention!.Value, Ct);

        Assert.Equal(1, deleted);
        Assert.Equal(sequences[1..], (await OutboxRows.AllAsync(connectionString)).Select(r => r.Sequence));
    }

    [Theory]
    [InlineData("Outbox:BatchSize", "0")]
    [InlineData("Outbox:PollInterval", "00:00:00")]
    [InlineData("Outbox:Retention", "-01:00:00")]
    [InlineData("Outbox:DegradedAfter", "00:00:00")]
    [InlineData("Outbox:HealthCheckTimeout", "-00:00:01")]
    public async Task Invalid_outbox_options_stop_the_service_from_starting(string key, string value)
    {
        await using var services = RelayHost.Compose("Host=localhost;Database=unused", new RecordingPublisher(), Settings((key, value)));

        // What the host runs before starting any hosted service (ValidateOnStart).
        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains(key.Split(':')[1], error.Message, StringComparison.Ordinal);
    }

    private static Dictionary<string, string?> Settings(params (string Key, string Value)[] settings) =>
        settings.ToDictionary(s => s.Key, s => (string?)s.Value);
}
