using System.Text.Json;

namespace CqrsDapr.QueryService.DeadLetters;

/// <summary>
/// An event the projection could never apply, as it arrived on the dead-letter topic: kept in the view store so it is
/// visible (and can be replayed by hand once fixed), never silently lost.
/// </summary>
internal sealed record DeadLetter
{
    /// <summary>Every stored document names its type; the dead-letter list query filters on it.</summary>
    public const string Type = "deadletter";

    public string ViewType { get; init; } = Type;

    /// <summary>The envelope's event id, or a hash of the data when it is not an envelope.</summary>
    public required string Id { get; init; }

    /// <summary>The topic it was dead-lettered from (the dead-letter topic's source).</summary>
    public required string Topic { get; init; }

    public string? EventType { get; init; }

    public string? AggregateId { get; init; }

    /// <summary>Why it cannot be applied, when the projection rules can tell (null: it failed for another reason).</summary>
    public string? Reason { get; init; }

    /// <summary>The CloudEvent data as received (JSON), or <see cref="RawData"/> when it was not JSON.</summary>
    public JsonElement? Data { get; init; }

    public string? RawData { get; init; }

    /// <summary>When it first arrived; redeliveries keep the first record.</summary>
    public required DateTimeOffset ReceivedAt { get; init; }

    /// <summary><see cref="ReceivedAt"/> as fixed-width UTC text, for ordering in the state query API.</summary>
    public required string ReceivedAtKey { get; init; }
}
