using System.Globalization;
using System.Text.Json;
using CqrsDapr.Contracts;
using CqrsDapr.Contracts.Products;
using CqrsDapr.QueryService.Products;

namespace CqrsDapr.QueryService.Projection;

/// <summary>What the projector decided for one event.</summary>
internal abstract record ProjectionDecision
{
    private ProjectionDecision()
    {
    }

    /// <summary>Save <paramref name="View"/> (with the ETag the current view was read with).</summary>
    public sealed record Apply(ProductView View) : ProjectionDecision;

    /// <summary>The view already reflects this event (duplicate or stale): acknowledge without effect.</summary>
    public sealed record AlreadyApplied : ProjectionDecision;

    /// <summary>The event can never be applied, whatever the view: quarantine it.</summary>
    public sealed record Drop(string Reason) : ProjectionDecision;

    public static readonly AlreadyApplied Ignored = new();
}

/// <summary>
/// The product view's projection rules, pure: (current view or none, envelope) → what to store. Events carry the
/// product's full state after the change, so any newer event is applied on its own and version gaps are fine.
/// </summary>
internal static class ProductProjector
{
    public static ProjectionDecision Project(ProductView? current, EventEnvelope envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        if (Validate(envelope) is { } invalid)
        {
            return invalid;
        }

        var id = Guid.Parse(envelope.AggregateId);

        // Newer events win; same or older are duplicates or stale re-deliveries and are acknowledged without effect.
        // Every event carries the whole public state (CreatedAt included), so a view never changes without a version
        // bump: a reader that waits for version v sees all of v, and any delivery order ends in the same view.
        if (current is not null && envelope.AggregateVersion <= current.Version)
        {
            return ProjectionDecision.Ignored;
        }

        return envelope.EventType switch
        {
            var t when t == ProductCreated.EventType => Live(envelope, envelope.DataAs<ProductCreated>().Product),
            var t when t == ProductUpdated.EventType => Live(envelope, envelope.DataAs<ProductUpdated>().Product),
            var t when t == ProductStockAdjusted.EventType => Live(envelope, envelope.DataAs<ProductStockAdjusted>().Product),
            _ => Tombstone(id, envelope, envelope.DataAs<ProductDeleted>()),
        };
    }

    /// <summary>Why the envelope can never be applied, or null when it is a well-formed product event.</summary>
    public static ProjectionDecision.Drop? Validate(EventEnvelope envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        if (envelope.AggregateType != ProductAggregate.Name)
        {
            return new ProjectionDecision.Drop($"aggregateType '{envelope.AggregateType}' is not '{ProductAggregate.Name}'");
        }

        if (!Guid.TryParseExact(envelope.AggregateId, "D", out var id))
        {
            return new ProjectionDecision.Drop($"aggregateId '{envelope.AggregateId}' is not a product id");
        }

        if (envelope.AggregateVersion < 1)
        {
            return new ProjectionDecision.Drop(string.Create(CultureInfo.InvariantCulture, $"aggregateVersion {envelope.AggregateVersion} is below 1"));
        }

        var expectedSchema = envelope.EventType switch
        {
            var t when t == ProductCreated.EventType => ProductCreated.SchemaVersion,
            var t when t == ProductUpdated.EventType => ProductUpdated.SchemaVersion,
            var t when t == ProductStockAdjusted.EventType => ProductStockAdjusted.SchemaVersion,
            var t when t == ProductDeleted.EventType => ProductDeleted.SchemaVersion,
            _ => (int?)null,
        };
        if (expectedSchema is null)
        {
            return new ProjectionDecision.Drop($"unknown eventType '{envelope.EventType}'");
        }

        if (envelope.SchemaVersion != expectedSchema)
        {
            return new ProjectionDecision.Drop(string.Create(CultureInfo.InvariantCulture, $"unknown schemaVersion {envelope.SchemaVersion} of {envelope.EventType}"));
        }

        try
        {
            var (payloadId, payloadVersion) = envelope.EventType switch
            {
                var t when t == ProductCreated.EventType => Of(envelope.DataAs<ProductCreated>()?.Product),
                var t when t == ProductUpdated.EventType => Of(envelope.DataAs<ProductUpdated>()?.Product),
                var t when t == ProductStockAdjusted.EventType => Of(envelope.DataAs<ProductStockAdjusted>()?.Product),
                _ => envelope.DataAs<ProductDeleted>() is { } deleted && deleted.Sku is not null
                    ? (deleted.ProductId, deleted.Version)
                    : throw new JsonException("missing payload"),
            };
            if (payloadId != id || payloadVersion != envelope.AggregateVersion)
            {
                return new ProjectionDecision.Drop(string.Create(CultureInfo.InvariantCulture,
                    $"payload is product {payloadId} v{payloadVersion}, envelope says {id} v{envelope.AggregateVersion}"));
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or NotSupportedException)
        {
            return new ProjectionDecision.Drop($"invalid {envelope.EventType} payload: {ex.Message}");
        }

        return null;
    }

    private static (Guid Id, long Version) Of(ProductSnapshot? snapshot) =>
        snapshot is { Sku: not null, Name: not null, Category: not null, Price.Currency: not null } && snapshot.CreatedAt != default
            ? snapshot.Price.Amount >= 0m && snapshot.Price.Amount <= ProductViewKeys.MaxPrice
                ? (snapshot.Id, snapshot.Version)
                : throw new JsonException("price out of range")
            : throw new JsonException("missing or incomplete product snapshot");

    private static ProjectionDecision.Apply Live(EventEnvelope envelope, ProductSnapshot product)
    {
        return new ProjectionDecision.Apply(ProductViewKeys.WithKeys(new ProductView
        {
            Id = product.Id,
            Sku = product.Sku,
            Name = product.Name,
            Description = product.Description,
            Category = product.Category,
            Price = product.Price,
            Stock = product.Stock,
            Version = envelope.AggregateVersion,
            CreatedAt = product.CreatedAt,
            UpdatedAt = envelope.OccurredAt,
        }));
    }

    /// <summary>
    /// A deleted product keeps id, sku and version only, the same whatever was stored before (deletes are final and
    /// must converge in any delivery order).
    /// </summary>
    private static ProjectionDecision.Apply Tombstone(Guid id, EventEnvelope envelope, ProductDeleted deleted) =>
        new(ProductViewKeys.WithKeys(new ProductView
        {
            Id = id,
            Sku = deleted.Sku,
            Name = "",
            Category = "",
            Price = new Money(0m, ""),
            Stock = 0,
            Version = envelope.AggregateVersion,
            CreatedAt = envelope.OccurredAt,
            UpdatedAt = envelope.OccurredAt,
            Deleted = true,
        }));
}
