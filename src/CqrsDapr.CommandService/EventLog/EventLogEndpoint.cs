using System.Buffers.Text;
using System.Globalization;
using System.Text;
using CqrsDapr.CommandService.Http;
using CqrsDapr.CommandService.Outbox;
using CqrsDapr.CommandService.Persistence;
using CqrsDapr.Contracts;
using CqrsDapr.ServiceDefaults;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace CqrsDapr.CommandService.EventLog;

/// <summary>
/// <c>GET /internal/event-log?after={sequence}&amp;limit={n}</c>: the published events of the outbox, in sequence
/// order, for the query side to rebuild its views from. Reached through Dapr service invocation only: the gateway
/// never forwards <c>/internal/*</c>, and with <c>APP_API_TOKEN</c> configured only calls carrying it (as the sidecar
/// sends it) get through (<see cref="DaprAppToken"/>).
/// </summary>
/// <remarks>
/// <para>
/// Only published rows (<c>published_at</c> set) are served, so a rebuild never sees an event before the live
/// subscription could have: the log and the topic carry the same events, and a reader never gets ahead of pub/sub.
/// </para>
/// <para>
/// Paging "after a sequence" is not a high-water mark that can be trusted on its own: sequences are taken when a
/// transaction inserts its row and become visible when it commits, so a row with a lower sequence than the last one
/// returned may still appear (or be published) later, and a walk past it never comes back. That is acceptable for a
/// rebuild, because such an event is also delivered live through pub/sub — the relay publishes every row, whatever
/// its sequence — and projections apply events idempotently by aggregate version, so an event seen twice (log and
/// topic), or seen by the topic only, leaves the same view.
/// </para>
/// </remarks>
internal static class EventLogEndpoint
{
    public const string Path = "/" + EventLogPage.Method;
    public const int DefaultLimit = 500;
    public const int MaxLimit = 5000;

    public static WebApplication MapEventLog(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet(Path, HandleAsync)
            .WithName("ReadEventLog")
            .WithSummary("Published events after a sequence, in sequence order (internal; Dapr service invocation only)")
            .ExcludeFromDescription()
            .RequireDaprAppToken();
        return app;
    }

    internal static async Task<Results<Ok<EventLogPage>, ProblemHttpResult>> HandleAsync(
        HttpRequest request,
        IDbContextFactory<WriteDbContext> dbFactory,
        CancellationToken cancellationToken)
    {
        if (!TryParse(request.Query["limit"], DefaultLimit, out var limit) || limit is < 1 or > MaxLimit)
        {
            return BadParameter("limit", $"a whole number from 1 to {MaxLimit} (default {DefaultLimit})");
        }

        var order = request.Query["order"].ToString();
        if (order == EventLogPage.ByAggregate)
        {
            if (!EventLogCursor.TryDecode(request.Query["cursor"].ToString(), out var cursor))
            {
                return BadParameter("cursor", "the cursor of the previous page, unchanged");
            }

            return TypedResults.Ok(await ReadByAggregateAsync(dbFactory, cursor, (int)limit, cancellationToken));
        }

        if (order is not ("" or EventLogPage.BySequence))
        {
            return BadParameter("order", $"'{EventLogPage.BySequence}' (default) or '{EventLogPage.ByAggregate}'");
        }

        if (!TryParse(request.Query["after"], 0, out var after) || after < 0)
        {
            return BadParameter("after", "a sequence: a whole number, 0 or more (0 reads from the start)");
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var rows = await db.Outbox.AsNoTracking()
            .Where(m => m.Sequence > after && m.PublishedAt != null)
            .OrderBy(m => m.Sequence)
            .Take((int)limit)
            .ToListAsync(cancellationToken);

        var events = rows.Select(OutboxRowPublisher.ToEnvelope).ToList();
        return TypedResults.Ok(new EventLogPage
        {
            Events = events,
            Next = events.Count == limit ? events[^1].Sequence : null,
        });
    }

    /// <summary>
    /// Published events ordered by aggregate (type, id, version), after <paramref name="cursor"/>: each aggregate's
    /// events come together, so a rebuild folds them into one save (one per page at most). Keyset on the outbox's
    /// (aggregate_type, aggregate_id, aggregate_version) index.
    /// </summary>
    private static async Task<EventLogPage> ReadByAggregateAsync(
        IDbContextFactory<WriteDbContext> dbFactory, EventLogCursor? cursor, int limit, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var rows = db.Outbox.AsNoTracking().Where(m => m.PublishedAt != null);
        if (cursor is { } c)
        {
            // A row-value comparison, (type, id, version) > (...): PostgreSQL walks the index from there.
            rows = rows.Where(m => EF.Functions.GreaterThan(
                ValueTuple.Create(m.AggregateType, m.AggregateId, m.AggregateVersion),
                ValueTuple.Create(c.AggregateType, c.AggregateId, c.AggregateVersion)));
        }

        var page = await rows
            .OrderBy(m => m.AggregateType).ThenBy(m => m.AggregateId).ThenBy(m => m.AggregateVersion)
            .Take(limit)
            .ToListAsync(cancellationToken);
        return new EventLogPage
        {
            Events = [.. page.Select(OutboxRowPublisher.ToEnvelope)],
            Cursor = page.Count == limit ? new EventLogCursor(page[^1].AggregateType, page[^1].AggregateId, page[^1].AggregateVersion).Encode() : null,
        };
    }

    private static bool TryParse(Microsoft.Extensions.Primitives.StringValues values, long fallback, out long value)
    {
        if (values.Count == 0)
        {
            value = fallback;
            return true;
        }

        value = 0;
        return values.Count == 1 && long.TryParse(values[0], NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    private static ProblemHttpResult BadParameter(string name, string expected) =>
        Problems.Create(StatusCodes.Status400BadRequest, "Invalid query parameter.", ProblemCodes.InvalidQueryParameter, $"'{name}' must be {expected}.");
}

/// <summary>Where an aggregate-ordered read of the event log stopped: opaque to clients (base64url).</summary>
internal sealed record EventLogCursor(string AggregateType, string AggregateId, long AggregateVersion)
{
    public string Encode() =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{AggregateType}\n{AggregateId}\n{AggregateVersion}")));

    /// <summary>An empty string is the start (null cursor); anything else must be a cursor this endpoint made.</summary>
    public static bool TryDecode(string text, out EventLogCursor? cursor)
    {
        cursor = null;
        if (text.Length == 0)
        {
            return true;
        }

        try
        {
            var parts = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(text)).Split('\n');
            if (parts is [{ Length: > 0 } type, { Length: > 0 } id, var version]
                && long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var v))
            {
                cursor = new EventLogCursor(type, id, v);
                return true;
            }
        }
        catch (FormatException)
        {
        }

        return false;
    }
}
