using System.Text.Json;
using CqrsDapr.Contracts;
using CqrsDapr.QueryService.Products;
using CqrsDapr.QueryService.Projection;
using static CqrsDapr.QueryService.Tests.Infrastructure.ProductEvents;

namespace CqrsDapr.QueryService.Tests.Projection;

public sealed class ProductProjectorTests
{
    private static readonly Guid Id = Guid.Parse("6f1c8a0e-0000-4000-8000-000000000001");

    [Fact]
    public void A_created_event_makes_a_view_with_the_snapshot_and_its_version()
    {
        var view = Applied(null, Created(Id, name: "Desk Lamp", price: 12.5m, stock: 3));

        Assert.Equal(("Desk Lamp", 12.5m, 3, 1L, false), (view.Name, view.Price.Amount, view.Stock, view.Version, view.Deleted));
        Assert.Equal(Start.AddMinutes(1), view.CreatedAt);
        Assert.Equal("00000000000000125000", view.PriceKey);
        Assert.Equal(ProductViewKeys.Name("Desk Lamp"), view.NameKey);
        Assert.Equal("2026-01-01T12:01:00.0000000Z", view.UpdatedAtKey);
    }

    [Fact]
    public void A_duplicate_is_already_applied()
    {
        var created = Created(Id);
        var view = Applied(null, created);

        Assert.IsType<ProjectionDecision.AlreadyApplied>(ProductProjector.Project(view, created));
    }

    [Fact]
    public void An_older_event_after_a_newer_one_is_already_applied()
    {
        var view = Applied(null, Updated(Id, 3, "Newer"));

        Assert.IsType<ProjectionDecision.AlreadyApplied>(ProductProjector.Project(view, Updated(Id, 2, "Older")));
    }

    [Fact]
    public void A_newer_event_applies_across_a_version_gap()
    {
        var view = Applied(Applied(null, Created(Id)), StockAdjusted(Id, 7, stock: 42));

        Assert.Equal((7L, 42), (view.Version, view.Stock));
        Assert.Equal(Start.AddMinutes(1), view.CreatedAt);
        Assert.Equal(Start.AddMinutes(7), view.UpdatedAt);
    }

    [Fact]
    public void A_view_first_built_from_a_later_event_has_the_creation_time_and_the_late_creation_changes_nothing()
    {
        var view = Applied(null, Updated(Id, 3, "Three"));

        Assert.Equal((Start.AddMinutes(1), Start.AddMinutes(3)), (view.CreatedAt, view.UpdatedAt));
        Assert.IsType<ProjectionDecision.AlreadyApplied>(ProductProjector.Project(view, Created(Id)));
    }

    [Fact]
    public void A_delete_leaves_a_tombstone_with_id_and_version()
    {
        var view = Applied(Applied(null, Created(Id)), Deleted(Id, 2));

        Assert.True(view.Deleted);
        Assert.Equal((Id, 2L), (view.Id, view.Version));
    }

    [Fact]
    public void Late_older_events_after_a_delete_leave_it_deleted()
    {
        var tombstone = Applied(null, Deleted(Id, 5));

        foreach (var late in new[] { Created(Id), Updated(Id, 2, "Back?"), StockAdjusted(Id, 4, 9), Deleted(Id, 5) })
        {
            Assert.IsType<ProjectionDecision.AlreadyApplied>(ProductProjector.Project(tombstone, late));
        }
    }

    [Fact]
    public void Every_order_of_a_stream_ends_in_the_same_view()
    {
        EventEnvelope[] stream = [Created(Id), Updated(Id, 2, "Two"), StockAdjusted(Id, 3, 8, name: "Two"), Updated(Id, 4, "Four", price: 20m, stock: 8)];
        var expected = Fold(stream);

        var orders = Permutations(stream).ToList();
        Assert.Equal(24, orders.Count);
        foreach (var order in orders)
        {
            Assert.Equal(expected, Fold(order));
        }

        Assert.Equal(("Four", 20m, 8, 4L, Start.AddMinutes(1)), (expected.Name, expected.Price.Amount, expected.Stock, expected.Version, expected.CreatedAt));
    }

    [Fact]
    public void Every_order_of_a_stream_ending_in_a_delete_ends_in_the_same_tombstone()
    {
        EventEnvelope[] stream = [Created(Id), Updated(Id, 2, "Two"), StockAdjusted(Id, 3, 8), Updated(Id, 4, "Four"), Deleted(Id, 5)];
        var expected = Fold(stream);

        var orders = Permutations(stream).ToList();
        Assert.Equal(120, orders.Count);
        foreach (var order in orders)
        {
            // Each event delivered twice, the duplicate right after, as a redelivering broker would.
            Assert.Equal(expected, Fold(order.SelectMany(e => new[] { e, e })));
        }

        Assert.True(expected.Deleted);
        Assert.Equal(5, expected.Version);
    }

    [Fact]
    public void An_unknown_event_type_is_dropped() =>
        AssertDropped(Created(Id) with { EventType = "ProductRenamed" }, "unknown eventType");

    [Fact]
    public void An_unknown_schema_version_is_dropped() =>
        AssertDropped(Created(Id) with { SchemaVersion = 2 }, "unknown schemaVersion");

    [Fact]
    public void A_payload_of_the_wrong_shape_is_dropped() =>
        AssertDropped(Created(Id) with { Data = JsonSerializer.SerializeToElement(new { product = 42 }) }, "invalid ProductCreated payload");

    [Fact]
    public void A_snapshot_without_its_creation_time_is_dropped()
    {
        var created = Created(Id);
        var product = (System.Text.Json.Nodes.JsonObject)System.Text.Json.Nodes.JsonNode.Parse(created.Data.GetRawText())!["product"]!;
        product.Remove("createdAt");
        AssertDropped(created with { Data = JsonSerializer.SerializeToElement(new { product }) }, "incomplete product snapshot");
    }

    [Fact]
    public void A_missing_payload_is_dropped() =>
        AssertDropped(Created(Id) with { Data = JsonSerializer.SerializeToElement<object?>(null) }, "invalid ProductCreated payload");

    [Fact]
    public void A_payload_for_another_product_is_dropped() =>
        AssertDropped(Created(Id) with { AggregateId = Guid.NewGuid().ToString("D") }, "payload is product");

    [Fact]
    public void An_event_of_another_aggregate_type_is_dropped() =>
        AssertDropped(Created(Id) with { AggregateType = "order" }, "aggregateType");

    [Fact]
    public void An_invalid_event_is_dropped_even_when_the_view_is_newer()
    {
        var view = Applied(null, Updated(Id, 9, "Nine"));

        Assert.IsType<ProjectionDecision.Drop>(ProductProjector.Project(view, Created(Id) with { SchemaVersion = 3 }));
    }

    private static void AssertDropped(EventEnvelope envelope, string reason)
    {
        var drop = Assert.IsType<ProjectionDecision.Drop>(ProductProjector.Project(null, envelope));
        Assert.Contains(reason, drop.Reason, StringComparison.Ordinal);
    }

    private static ProductView Applied(ProductView? current, EventEnvelope envelope) =>
        Assert.IsType<ProjectionDecision.Apply>(ProductProjector.Project(current, envelope)).View;

    private static ProductView Fold(IEnumerable<EventEnvelope> events)
    {
        ProductView? view = null;
        foreach (var envelope in events)
        {
            if (ProductProjector.Project(view, envelope) is ProjectionDecision.Apply apply)
            {
                view = apply.View;
            }
        }

        return view ?? throw new InvalidOperationException("nothing applied");
    }

    private static IEnumerable<T[]> Permutations<T>(T[] items) =>
        items.Length <= 1
            ? [items]
            : items.SelectMany((item, i) => Permutations([.. items.Where((_, j) => j != i)]).Select(rest => (T[])[item, .. rest]));
}
