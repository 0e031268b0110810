using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CqrsDapr.CommandService.Outbox;
using CqrsDapr.CommandService.Tests.Infrastructure;
using CqrsDapr.CommandService.Tests.Outbox;
using CqrsDapr.Contracts;
using CqrsDapr.Contracts.Products;
using Microsoft.EntityFrameworkCore;

namespace CqrsDapr.CommandService.Tests.EventLog;

/// <summary><c>GET /internal/event-log</c> against the real service and database: what a view rebuild reads.</summary>
public sealed class EventLogTests(CommandServiceHost host) : IClassFixture<CommandServiceHost>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Inserts outbox rows as the write path does; published ones as the relay leaves them.</summary>
    private async Task<List<OutboxMessage>> InsertAsync(int count, bool published)
    {
        await using var db = host.Database();
        var rows = Enumerable.Range(0, count).Select(n =>
        {
            var row = OutboxRows.ProductCreated(n);
            if (published)
            {
                row.PublishedAt = DateTimeOffset.UtcNow;
            }
            else
            {
                // A row whose publish failed and is backing off: the relay leaves it alone for the test's duration.
                row.Attempts = 1;
                row.NextAttemptAt = DateTimeOffset.UtcNow.AddHours(1);
                row.LastError = "broker down (test)";
            }

            return row;
        }).ToList();
        db.Outbox.AddRange(rows);
        await db.SaveChangesAsync(Ct);
        return rows;
    }

    private async Task<EventLogPage> PageAsync(string query)
    {
        using var response = await host.Client.GetAsync(new Uri("/internal/event-log" + query, UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var page = await response.Content.ReadFromJsonAsync(ContractsJson.Default.EventLogPage, Ct);
        return Assert.IsType<EventLogPage>(page);
    }

    private async Task<List<EventEnvelope>> WalkAsync(int limit)
    {
        var all = new List<EventEnvelope>();
        long after = 0;
        for (var pages = 0; pages < 10_000; pages++)
        {
            var page = await PageAsync($"?after={after}&limit={limit}");
            Assert.True(page.Events.Count <= limit);
            all.AddRange(page.Events);
            if (page.Next is not { } next)
            {
                return all;
            }

            Assert.Equal(page.Events[^1].Sequence, next);
            after = next;
        }

        throw new InvalidOperationException("the walk never ended");
    }

    [Fact]
    public async Task Ordered_by_aggregate_each_aggregates_events_come_together_in_version_order_and_the_cursor_walks_all_once()
    {
        // Seven products, three versions each, committed interleaved (v1 of all, then v2 of all, ...); one unpublished.
        var ids = Enumerable.Range(0, 7).Select(_ => Guid.CreateVersion7()).ToList();
        await using (var db = host.Database())
        {
            for (var version = 1; version <= 3; version++)
            {
                foreach (var id in ids)
                {
                    var snapshot = new ProductSnapshot(id, "SKU-" + id.ToString("N")[..8], $"v{version}", null, "tests", new Money(1m, "EUR"), version, version, DateTimeOffset.UnixEpoch);
                    var row = version == 1
                        ? OutboxMessage.For(new ProductCreated(snapshot), id.ToString(), 1, DateTimeOffset.UtcNow, null, null)
                        : OutboxMessage.For(new ProductUpdated(snapshot, ["name"]), id.ToString(), version, DateTimeOffset.UtcNow, null, null);
                    row.PublishedAt = id == ids[^1] && version == 3 ? null : DateTimeOffset.UtcNow;
                    row.NextAttemptAt = DateTimeOffset.UtcNow.AddHours(1);
                    db.Outbox.Add(row);
                }

                await db.SaveChangesAsync(Ct);
            }
        }

        var walked = new List<EventEnvelope>();
        string? cursor = null;
        do
        {
            var page = await PageAsync($"?order=aggregate&limit=4{(cursor is null ? "" : "&cursor=" + cursor)}");
            Assert.True(page.Events.Count <= 4);
            Assert.Null(page.Next);
            walked.AddRange(page.Events);
            cursor = page.Cursor;
        }
        while (cursor is not null);

        var ours = walked.Where(e => ids.Contains(Guid.Parse(e.AggregateId))).ToList();
        Assert.Equal(20, ours.Count); // 21 rows, one not published yet
        Assert.Equal(walked.Count, walked.Select(e => e.EventId).Distinct().Count());
        foreach (var id in ids)
        {
            var positions = walked.Select((e, i) => (e, i)).Where(x => x.e.AggregateId == id.ToString()).ToList();
            Assert.Equal(positions.Count - 1, positions[^1].i - positions[0].i); // contiguous
            Assert.Equal(Enumerable.Range(1, positions.Count).Select(v => (long)v), positions.Select(x => x.e.AggregateVersion));
        }
    }

    [Theory]
    [InlineData("?order=aggregate&cursor=not-a-cursor", "cursor")]
    [InlineData("?order=aggregate&cursor=YWJj", "cursor")]
    [InlineData("?order=random", "order")]
    public async Task A_bad_order_or_cursor_is_a_400(string query, string parameter)
    {
        using var response = await host.Client.GetAsync(new Uri("/internal/event-log" + query, UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains($"'{parameter}'", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Paging_walks_every_published_event_exactly_once_in_sequence_order_as_the_relay_publishes_it()
    {
        var rows = await InsertAsync(23, published: true);

        var events = await WalkAsync(limit: 5);

        var stored = (await OutboxRows.AllAsync(host.ConnectionString)).ToDictionary(m => m.EventId);
        var sequences = events.Select(e => e.Sequence).ToList();
        Assert.Equal(sequences.Order().Distinct(), sequences); // strictly increasing: nothing twice, nothing out of order
        foreach (var row in rows)
        {
            var served = Assert.Single(events, e => e.EventId == row.EventId);
            var expected = OutboxRowPublisher.ToEnvelope(stored[row.EventId]); // the relay's envelope of the stored row, field for field
            Assert.Equal(JsonSerializer.Serialize(expected, ContractsJson.Default.EventEnvelope), JsonSerializer.Serialize(served, ContractsJson.Default.EventEnvelope));
        }
    }

    [Fact]
    public async Task A_page_starts_after_the_given_sequence_and_next_is_null_once_a_page_comes_back_short()
    {
        var rows = await InsertAsync(3, published: true);
        var first = rows[0].Sequence;

        var full = await PageAsync($"?after={first - 1}&limit=2");
        var rest = await PageAsync($"?after={full.Next}&limit=5000");
        var beyond = await PageAsync($"?after={rows[^1].Sequence}");

        Assert.Equal([rows[0].EventId, rows[1].EventId], full.Events.Select(e => e.EventId));
        Assert.Equal(rows[1].Sequence, full.Next);
        Assert.Equal(rows[2].EventId, Assert.Single(rest.Events).EventId);
        Assert.Null(rest.Next);
        Assert.Empty(beyond.Events);
        Assert.Null(beyond.Next);

        using var raw = await host.Client.GetAsync(new Uri($"/internal/event-log?after={rows[^1].Sequence}", UriKind.Relative), Ct);
        using var json = JsonDocument.Parse(await raw.Content.ReadAsStringAsync(Ct));
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("next").ValueKind); // written as null, not left out
    }

    [Fact]
    public async Task Unpublished_rows_are_not_served_until_the_relay_has_published_them()
    {
        var before = await InsertAsync(2, published: true);
        var pending = await InsertAsync(3, published: false);
        var after = await InsertAsync(2, published: true);

        var events = await WalkAsync(limit: 4);

        Assert.All(pending, p => Assert.DoesNotContain(events, e => e.EventId == p.EventId));
        Assert.All(before.Concat(after), p => Assert.Single(events, e => e.EventId == p.EventId));

        await using (var db = host.Database())
        {
            var ids = pending.Select(p => p.Sequence).ToList();
            await db.Outbox.Where(m => ids.Contains(m.Sequence))
                .ExecuteUpdateAsync(s => s.SetProperty(m => m.PublishedAt, DateTimeOffset.UtcNow), Ct);
        }

        var again = await WalkAsync(limit: 4);
        Assert.All(pending, p => Assert.Single(again, e => e.EventId == p.EventId));
    }

    [Theory]
    [InlineData("?after=-1")]
    [InlineData("?after=abc")]
    [InlineData("?after=1.5")]
    [InlineData("?after=1&after=2")]
    [InlineData("?limit=0")]
    [InlineData("?limit=5001")]
    [InlineData("?limit=ten")]
    [InlineData("?after=0&limit=-5")]
    public async Task Bad_parameters_answer_400_problem_details(string query)
    {
        using var response = await host.Client.GetAsync(new Uri("/internal/event-log" + query, UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal(400, body.RootElement.GetProperty("status").GetInt32());
        Assert.Equal("invalid-query-parameter", body.RootElement.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Limit_defaults_to_500_and_accepts_the_maximum()
    {
        await InsertAsync(2, published: true);

        var byDefault = await PageAsync("");
        var maximum = await PageAsync("?limit=5000");

        Assert.True(byDefault.Events.Count <= 500);
        Assert.Equal(byDefault.Events.Select(e => e.EventId), maximum.Events.Take(byDefault.Events.Count).Select(e => e.EventId));
    }
}
