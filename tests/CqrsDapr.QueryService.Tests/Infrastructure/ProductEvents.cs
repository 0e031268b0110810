using System.Text.Json;
using CqrsDapr.Contracts;
using CqrsDapr.Contracts.Products;

namespace CqrsDapr.QueryService.Tests.Infrastructure;

/// <summary>Builds envelopes the way the command service publishes them: the product's state after each change.</summary>
internal static class ProductEvents
{
    public static readonly DateTimeOffset Start = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    public static ProductSnapshot Snapshot(Guid id, long version, string name = "Lamp", decimal price = 10m, int stock = 5) =>
        new(id, "SKU-" + id.ToString("N")[..8], name, "A lamp", "lighting", new Money(price, "EUR"), stock, version, Start.AddMinutes(1));

    public static EventEnvelope Created(Guid id, string name = "Lamp", decimal price = 10m, int stock = 5) =>
        Envelope(new ProductCreated(Snapshot(id, 1, name, price, stock)), id, 1);

    public static EventEnvelope Updated(Guid id, long version, string name, decimal price = 10m, int stock = 5) =>
        Envelope(new ProductUpdated(Snapshot(id, version, name, price, stock), ["name"]), id, version);

    public static EventEnvelope StockAdjusted(Guid id, long version, int stock, string name = "Lamp", decimal price = 10m) =>
        Envelope(new ProductStockAdjusted(Snapshot(id, version, name, price, stock), 1, "restock"), id, version);

    public static EventEnvelope Deleted(Guid id, long version) =>
        Envelope(new ProductDeleted(id, "SKU-" + id.ToString("N")[..8], version), id, version);

    public static EventEnvelope Envelope<TEvent>(TEvent @event, Guid id, long version)
        where TEvent : IIntegrationEvent => new()
        {
            EventId = Guid.NewGuid(),
            EventType = TEvent.EventType,
            SchemaVersion = TEvent.SchemaVersion,
            AggregateType = TEvent.AggregateType,
            AggregateId = id.ToString("D"),
            AggregateVersion = version,
            Sequence = version,
            OccurredAt = Start.AddMinutes(version),
            Data = JsonSerializer.SerializeToElement(@event, ContractsJson.Default.GetTypeInfo(typeof(TEvent))!),
        };

    public static byte[] Json(EventEnvelope envelope) => JsonSerializer.SerializeToUtf8Bytes(envelope, ContractsJson.Default.EventEnvelope);
}
