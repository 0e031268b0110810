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

    public required IReadOnlyList<EventEnvelope> Events { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public long? Next { get; init; }
}
