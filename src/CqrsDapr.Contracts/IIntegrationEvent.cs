namespace CqrsDapr.Contracts;

/// <summary>
/// An event published to other services. Its name and schema version travel in the envelope; a change that breaks
/// readers is a new schema version, never an edit of an existing one.
/// </summary>
public interface IIntegrationEvent
{
    static abstract string EventType { get; }

    static abstract int SchemaVersion { get; }

    static abstract string AggregateType { get; }
}
