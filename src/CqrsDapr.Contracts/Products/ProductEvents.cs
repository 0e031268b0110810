namespace CqrsDapr.Contracts.Products;

/// <summary>Money as the public contract has it: an amount in major units and an ISO 4217 code.</summary>
public sealed record Money(decimal Amount, string Currency);

/// <summary>
/// A product's public state after a change (event-carried state transfer): a projector can apply any newer event
/// without the ones in between. That includes <see cref="CreatedAt"/>: a view first built from a later event (its
/// creation event still in flight or lost) has the true creation time, whatever order the events arrive in.
/// </summary>
public sealed record ProductSnapshot(
    Guid Id,
    string Sku,
    string Name,
    string? Description,
    string Category,
    Money Price,
    int Stock,
    long Version,
    DateTimeOffset CreatedAt);

public sealed record ProductCreated(ProductSnapshot Product) : IIntegrationEvent
{
    public static string EventType => "ProductCreated";

    public static int SchemaVersion => 1;

    public static string AggregateType => ProductAggregate.Name;
}

/// <summary><paramref name="ChangedFields"/> names the public fields the patch changed (camelCase).</summary>
public sealed record ProductUpdated(ProductSnapshot Product, IReadOnlyList<string> ChangedFields) : IIntegrationEvent
{
    public static string EventType => "ProductUpdated";

    public static int SchemaVersion => 1;

    public static string AggregateType => ProductAggregate.Name;
}

public sealed record ProductStockAdjusted(ProductSnapshot Product, int Delta, string Reason) : IIntegrationEvent
{
    public static string EventType => "ProductStockAdjusted";

    public static int SchemaVersion => 1;

    public static string AggregateType => ProductAggregate.Name;
}

/// <summary>The product is gone; <paramref name="Version"/> is the deletion's version (views keep it as a tombstone).</summary>
public sealed record ProductDeleted(Guid ProductId, string Sku, long Version) : IIntegrationEvent
{
    public static string EventType => "ProductDeleted";

    public static int SchemaVersion => 1;

    public static string AggregateType => ProductAggregate.Name;
}

public static class ProductAggregate
{
    public const string Name = "product";
}
