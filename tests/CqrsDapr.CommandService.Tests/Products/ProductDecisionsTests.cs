using CqrsDapr.CommandService.Products;
using CqrsDapr.Contracts.Products;

namespace CqrsDapr.CommandService.Tests.Products;

public sealed class ProductDecisionsTests
{
    private static readonly Guid Id = Guid.Parse("0190f1c2-7a3b-7cde-8f00-123456789abc");

    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    private static Product AProduct(long version = 3, int stock = 5, bool deleted = false) => new()
    {
        Id = Id,
        Sku = "AB-100",
        Name = "Desk lamp",
        Description = "Warm light",
        Category = "lighting",
        PriceAmount = 39.90m,
        PriceCurrency = "EUR",
        Stock = stock,
        Version = version,
        IsDeleted = deleted,
    };

    private static NewProduct ANewProduct() => new("AB-100", "Desk lamp", null, "lighting", new Money(39.90m, "EUR"), 12);

    [Fact]
    public void Creating_a_product_yields_ProductCreated_at_version_1_carrying_the_full_snapshot()
    {
        var decision = ProductDecisions.Decide(null, new CreateProduct(Id, ANewProduct()), Now);

        Assert.Equal(DecisionOutcome.Accepted, decision.Outcome);
        Assert.Equal(1, decision.Version);
        var created = Assert.IsType<ProductCreated>(decision.Event);
        Assert.Equal(new ProductSnapshot(Id, "AB-100", "Desk lamp", null, "lighting", new Money(39.90m, "EUR"), 12, 1, Now), created.Product);
    }

    [Fact]
    public void Creating_a_product_whose_id_already_exists_is_a_conflict()
    {
        var decision = ProductDecisions.Decide(AProduct(), new CreateProduct(Id, ANewProduct()), Now);

        Assert.Equal(DecisionOutcome.Conflict, decision.Outcome);
        Assert.Null(decision.Event);
    }

    public static TheoryData<string, ProductPatch, string> OneFieldPatches => new()
    {
        { "name", new ProductPatch(Name: "Floor lamp"), "name" },
        { "description", new ProductPatch(SetsDescription: true, Description: "Cold light"), "description" },
        { "category", new ProductPatch(Category: "furniture"), "category" },
        { "price", new ProductPatch(Price: new Money(45m, "EUR")), "price" },
        { "currency only", new ProductPatch(Price: new Money(39.90m, "USD")), "price" },
    };

    [Theory]
    [MemberData(nameof(OneFieldPatches))]
    public void Updating_one_field_changes_that_field_only_bumps_the_version_and_names_the_field(string _, ProductPatch patch, string field)
    {
        var before = AProduct(version: 3);

        var decision = ProductDecisions.Decide(before, new UpdateProduct(Id, patch, ExpectedVersion: null));

        Assert.Equal(DecisionOutcome.Accepted, decision.Outcome);
        Assert.Equal(4, decision.Version);
        var updated = Assert.IsType<ProductUpdated>(decision.Event);
        Assert.Equal([field], updated.ChangedFields);
        var expected = ProductDecisions.Snapshot(before) with
        {
            Name = patch.Name ?? before.Name,
            Description = patch.SetsDescription ? patch.Description : before.Description,
            Category = patch.Category ?? before.Category,
            Price = patch.Price ?? new Money(before.PriceAmount, before.PriceCurrency),
            Version = 4,
        };
        Assert.Equal(expected, updated.Product);
    }

    [Fact]
    public void A_patch_with_a_null_description_clears_the_description()
    {
        var decision = ProductDecisions.Decide(AProduct(), new UpdateProduct(Id, new ProductPatch(SetsDescription: true, Description: null), null));

        var updated = Assert.IsType<ProductUpdated>(decision.Event);
        Assert.Null(updated.Product.Description);
        Assert.Equal(["description"], updated.ChangedFields);
    }

    [Fact]
    public void A_patch_touching_several_fields_lists_exactly_the_ones_that_changed()
    {
        var patch = new ProductPatch(Name: "Desk lamp", Category: "office", Price: new Money(39.9000m, "EUR"));

        var decision = ProductDecisions.Decide(AProduct(), new UpdateProduct(Id, patch, null));

        Assert.Equal(["category"], Assert.IsType<ProductUpdated>(decision.Event).ChangedFields);
    }

    [Fact]
    public void A_patch_that_changes_nothing_is_unchanged_with_no_event_and_the_current_version()
    {
        var patch = new ProductPatch(Name: "Desk lamp", SetsDescription: true, Description: "Warm light", Price: new Money(39.9m, "EUR"));

        var decision = ProductDecisions.Decide(AProduct(version: 7), new UpdateProduct(Id, patch, null));

        Assert.Equal(DecisionOutcome.Unchanged, decision.Outcome);
        Assert.Null(decision.Event);
        Assert.Equal(7, decision.Version);
    }

    [Fact]
    public void An_empty_patch_is_unchanged()
    {
        var decision = ProductDecisions.Decide(AProduct(version: 2), new UpdateProduct(Id, new ProductPatch(), null));

        Assert.Equal(DecisionOutcome.Unchanged, decision.Outcome);
        Assert.Equal(2, decision.Version);
    }

    public static TheoryData<string> CommandsOnExistingProducts => new() { "update", "adjust-stock", "delete" };

    private static Decision Decide(string command, Product? current, long? expectedVersion = null) => command switch
    {
        "update" => ProductDecisions.Decide(current, new UpdateProduct(Id, new ProductPatch(Name: "Other"), expectedVersion)),
        "adjust-stock" => ProductDecisions.Decide(current, new AdjustProductStock(Id, 1, "restock", expectedVersion)),
        "delete" => ProductDecisions.Decide(current, new DeleteProduct(Id, expectedVersion)),
        _ => throw new ArgumentOutOfRangeException(nameof(command)),
    };

    [Theory]
    [MemberData(nameof(CommandsOnExistingProducts))]
    public void A_command_on_an_unknown_product_is_not_found(string command)
    {
        var decision = Decide(command, current: null);

        Assert.Equal(DecisionOutcome.NotFound, decision.Outcome);
        Assert.Null(decision.Event);
    }

    [Theory]
    [MemberData(nameof(CommandsOnExistingProducts))]
    public void A_command_on_a_deleted_product_is_not_found(string command)
    {
        var decision = Decide(command, AProduct(deleted: true));

        Assert.Equal(DecisionOutcome.NotFound, decision.Outcome);
    }

    [Theory]
    [MemberData(nameof(CommandsOnExistingProducts))]
    public void A_command_expecting_an_older_version_fails_its_precondition(string command)
    {
        var decision = Decide(command, AProduct(version: 3), expectedVersion: 2);

        Assert.Equal(DecisionOutcome.PreconditionFailed, decision.Outcome);
        Assert.Equal(3, decision.Version);
        Assert.Null(decision.Event);
    }

    [Theory]
    [MemberData(nameof(CommandsOnExistingProducts))]
    public void A_command_expecting_the_current_version_is_accepted_as_version_plus_one(string command)
    {
        var decision = Decide(command, AProduct(version: 3), expectedVersion: 3);

        Assert.Equal(DecisionOutcome.Accepted, decision.Outcome);
        Assert.Equal(4, decision.Version);
    }

    [Fact]
    public void Not_found_is_decided_before_a_stale_version()
    {
        Assert.Equal(DecisionOutcome.NotFound, Decide("delete", AProduct(version: 3, deleted: true), expectedVersion: 1).Outcome);
    }

    [Fact]
    public void A_stale_version_is_decided_before_the_stock_rule()
    {
        var decision = ProductDecisions.Decide(AProduct(version: 3, stock: 0), new AdjustProductStock(Id, -1, "sold", ExpectedVersion: 2));

        Assert.Equal(DecisionOutcome.PreconditionFailed, decision.Outcome);
    }

    [Fact]
    public void Adjusting_stock_yields_the_new_stock_the_delta_and_the_reason()
    {
        var decision = ProductDecisions.Decide(AProduct(version: 3, stock: 5), new AdjustProductStock(Id, -3, "sold", null));

        var adjusted = Assert.IsType<ProductStockAdjusted>(decision.Event);
        Assert.Equal(2, adjusted.Product.Stock);
        Assert.Equal(4, adjusted.Product.Version);
        Assert.Equal(-3, adjusted.Delta);
        Assert.Equal("sold", adjusted.Reason);
    }

    [Fact]
    public void Removing_exactly_the_stock_there_is_leaves_zero()
    {
        var decision = ProductDecisions.Decide(AProduct(stock: 5), new AdjustProductStock(Id, -5, "sold", null));

        Assert.Equal(0, Assert.IsType<ProductStockAdjusted>(decision.Event).Product.Stock);
    }

    [Fact]
    public void Removing_more_stock_than_there_is_is_a_conflict_that_says_how_much_there_is()
    {
        var decision = ProductDecisions.Decide(AProduct(stock: 5), new AdjustProductStock(Id, -6, "sold", null));

        Assert.Equal(DecisionOutcome.Conflict, decision.Outcome);
        Assert.Equal("stock-below-zero", decision.Code);
        Assert.Contains("5", decision.Detail, StringComparison.Ordinal);
        Assert.Null(decision.Event);
    }

    [Fact]
    public void Adding_stock_past_the_largest_int_is_a_conflict_not_an_overflow()
    {
        var decision = ProductDecisions.Decide(AProduct(stock: int.MaxValue - 1), new AdjustProductStock(Id, 2, "restock", null));

        Assert.Equal(DecisionOutcome.Conflict, decision.Outcome);
        Assert.Equal("stock-overflow", decision.Code);
    }

    [Fact]
    public void Deleting_yields_ProductDeleted_with_the_next_version_and_the_sku()
    {
        var decision = ProductDecisions.Decide(AProduct(version: 3), new DeleteProduct(Id, null));

        Assert.Equal(new ProductDeleted(Id, "AB-100", 4), Assert.IsType<ProductDeleted>(decision.Event));
    }

    [Fact]
    public void Applying_each_event_leaves_the_stored_state_equal_to_the_events_snapshot()
    {
        var created = ProductDecisions.Decide(null, new CreateProduct(Id, ANewProduct()), Now);
        var product = ProductDecisions.Apply(null, created.Event!, Now);
        Assert.Equal(((ProductCreated)created.Event!).Product, ProductDecisions.Snapshot(product));
        Assert.Equal(Now, product.CreatedAt);

        var updated = ProductDecisions.Decide(product, new UpdateProduct(Id, new ProductPatch(Name: "Lamp"), 1));
        ProductDecisions.Apply(product, updated.Event!, Now.AddMinutes(1));
        Assert.Equal(((ProductUpdated)updated.Event!).Product, ProductDecisions.Snapshot(product));
        Assert.Equal(Now.AddMinutes(1), product.UpdatedAt);

        var adjusted = ProductDecisions.Decide(product, new AdjustProductStock(Id, -2, "sold", 2));
        ProductDecisions.Apply(product, adjusted.Event!, Now);
        Assert.Equal(((ProductStockAdjusted)adjusted.Event!).Product, ProductDecisions.Snapshot(product));

        var deleted = ProductDecisions.Decide(product, new DeleteProduct(Id, 3));
        ProductDecisions.Apply(product, deleted.Event!, Now);
        Assert.True(product.IsDeleted);
        Assert.Equal(4, product.Version);
    }
}
