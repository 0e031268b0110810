namespace CqrsDapr.CommandService.Outbox;

/// <summary>The PostgreSQL <c>LISTEN/NOTIFY</c> channel the outbox trigger signals on commit.</summary>
internal static class OutboxChannel
{
    public const string Name = "outbox_committed";
}
