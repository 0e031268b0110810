using System.Collections.Concurrent;
using CqrsDapr.CommandService.Outbox;

namespace CqrsDapr.CommandService.Tests.Outbox;

/// <summary>Stands in for the dispatch in tests of a turn alone: records what the turn handed over after its commit.</summary>
internal sealed class RecordingCommittedEvents : ICommittedEvents
{
    public ConcurrentQueue<OutboxMessage> Rows { get; } = new();

    public void Committed(IReadOnlyList<OutboxMessage> rows)
    {
        foreach (var row in rows)
        {
            Rows.Enqueue(row);
        }
    }
}
