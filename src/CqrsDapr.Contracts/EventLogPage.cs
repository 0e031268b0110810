using System.Text.Json.Serialization;

namespace CqrsDapr.Contracts;

/// <summary>
/// One page of the write side's event log (<c>GET /internal/event-log?after={sequence}&amp;limit={n}</c> on the
/// command service, reached through Dapr service invocation only): published events in <see cref="EventEnvelope.Sequence"/>
/// order. <see cref="Next"/> is the <c>after</c> for the next page, or null once a page came back short (the end of
/// the log as of that read).
/// </summary>
public sealed record EventLogPage
{
    /// <summary>The method path, relative to the command service's app-id.</summary>
    public const string Method = "internal/event-log";

    /// <summary><c>order</c> value: by sequence, the order events were committed in (the default).</summary>
    public const string BySequence = "sequence";

    /// <summary>
    /// <c>order</c> value: by aggregate type, id and version, each aggregate's events together (what a rebuild wants:
    /// one view save per aggregate); paged with <see cref="Cursor"/> instead of <c>after</c>.
    /// </summary>
    public const string ByAggregate = "aggregate";

    public required IReadOnlyList<EventEnvelope> Events { get; init; }

    /// <summary>By sequence: the <c>after</c> of the next page; null once a page came back short.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public long? Next { get; init; }

    /// <summary>By aggregate: the <c>cursor</c> of the next page (opaque); null once a page came back short.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Cursor { get; init; }
}
