using CqrsDapr.Contracts;
using CqrsDapr.Contracts.Products;

namespace CqrsDapr.CommandService.Products;

internal enum DecisionOutcome
{
    /// <summary>The command changes the product: <see cref="Decision.Event"/> is what happened.</summary>
    Accepted,

    /// <summary>The command is valid but changes nothing (a patch that sets every field to its current value).</summary>
    Unchanged,

    NotFound,

    /// <summary>An invariant would break (stock below zero, product already exists...).</summary>
    Conflict,

    /// <summary>The caller's expected version (<c>If-Match</c>) is not the current one.</summary>
    PreconditionFailed,
}

/// <summary>What the domain decided for one command: an event with the version it produces, or a rejection.</summary>
internal sealed record Decision(DecisionOutcome Outcome, IIntegrationEvent? Event, long Version, string? Code, string? Detail)
{
    public static Decision Accept(IIntegrationEvent @event, long version) => new(DecisionOutcome.Accepted, @event, version, null, null);

    public static Decision Unchanged(long version) => new(DecisionOutcome.Unchanged, null, version, null, null);

    public static Decision NotFound() => new(DecisionOutcome.NotFound, null, 0, ProblemCodes.ProductNotFound, "No such product.");

    public static Decision Conflict(string code, string detail) => new(DecisionOutcome.Conflict, null, 0, code, detail);

    public static Decision Stale(long expected, long current) =>
        new(DecisionOutcome.PreconditionFailed, null, current, ProblemCodes.VersionMismatch, $"Expected version {expected}, the product is at version {current}.");
}

/// <summary>
/// The product's rules: (current state, command) → event or rejection. Pure: no I/O, no clock, no database; the actor
/// loads the state, calls these, and saves what they return.
/// </summary>
/// <remarks>
/// Order of checks, the same for every command on an existing product: unknown or deleted → not found; stale expected
/// version → precondition failed; then the command's own invariants. A patch that changes nothing is
/// <see cref="DecisionOutcome.Unchanged"/>: no new version, no event (merge patch is idempotent; re-sending it must not
/// grow the event log), answered like a success with the current version.
/// </remarks>
internal static class ProductDecisions
{
    public static Decision Decide(Product? current, CreateProduct command, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (current is not null)
        {
            return Decision.Conflict(ProblemCodes.ProductExists, "A product with this id already exists.");
        }

        var p = command.Product;
        var snapshot = new ProductSnapshot(command.Id, p.Sku, p.Name, p.Description, p.Category, p.Price, p.Stock, Version: 1, CreatedAt: at);
        return Decision.Accept(new ProductCreated(snapshot), 1);
    }

    public static Decision Decide(Product? current, UpdateProduct command)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (Precheck(current, command.ExpectedVersion) is { } rejection)
        {
            return rejection;
        }

        var before = Snapshot(current!);
        var patch = command.Patch;
        var after = before with
        {
            Name = patch.Name ?? before.Name,
            Description = patch.SetsDescription ? patch.Description : before.Description,
            Category = patch.Category ?? before.Category,
            Price = patch.Price ?? before.Price,
        };

        var changed = new List<string>(4);
        if (after.Name != before.Name)
        {
            changed.Add("name");
        }

        if (after.Description != before.Description)
        {
            changed.Add("description");
        }

        if (after.Category != before.Category)
        {
            changed.Add("category");
        }

        if (after.Price != before.Price)
        {
            changed.Add("price");
        }

        if (changed.Count == 0)
        {
            return Decision.Unchanged(before.Version);
        }

        var version = before.Version + 1;
        return Decision.Accept(new ProductUpdated(after with { Version = version }, changed), version);
    }

    public static Decision Decide(Product? current, AdjustProductStock command)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (Precheck(current, command.ExpectedVersion) is { } rejection)
        {
            return rejection;
        }

        var stock = (long)current!.Stock + command.Delta;
        if (stock < 0)
        {
            return Decision.Conflict(ProblemCodes.StockBelowZero, $"Only {current.Stock} in stock; cannot remove {-(long)command.Delta}.");
        }

        if (stock > int.MaxValue)
        {
            return Decision.Conflict(ProblemCodes.StockOverflow, $"Stock cannot exceed {int.MaxValue}.");
        }

        var version = current.Version + 1;
        var after = Snapshot(current) with { Stock = (int)stock, Version = version };
        return Decision.Accept(new ProductStockAdjusted(after, command.Delta, command.Reason), version);
    }

    public static Decision Decide(Product? current, DeleteProduct command)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (Precheck(current, command.ExpectedVersion) is { } rejection)
        {
            return rejection;
        }

        var version = current!.Version + 1;
        return Decision.Accept(new ProductDeleted(current.Id, current.Sku, version), version);
    }

    /// <summary>
    /// Applies an accepted decision's event to the stored state: returns <paramref name="current"/> changed in place
    /// (so EF tracks it), or a new <see cref="Product"/> for <see cref="ProductCreated"/>.
    /// </summary>
    public static Product Apply(Product? current, IIntegrationEvent @event, DateTimeOffset at)
    {
        switch (@event)
        {
            case ProductCreated created:
                var product = new Product
                {
                    Id = created.Product.Id,
                    Sku = created.Product.Sku,
                    Name = created.Product.Name,
                    Category = created.Product.Category,
                    PriceCurrency = created.Product.Price.Currency,
                    CreatedAt = created.Product.CreatedAt,
                };
                CopySnapshot(product, created.Product, at);
                return product;
            case ProductUpdated updated:
                CopySnapshot(Existing(current), updated.Product, at);
                return current!;
            case ProductStockAdjusted adjusted:
                CopySnapshot(Existing(current), adjusted.Product, at);
                return current!;
            case ProductDeleted deleted:
                var gone = Existing(current);
                gone.IsDeleted = true;
                gone.Version = deleted.Version;
                gone.UpdatedAt = at;
                return gone;
            default:
                throw new ArgumentException($"Not a product event: {@event.GetType().Name}", nameof(@event));
        }
    }

    public static ProductSnapshot Snapshot(Product product)
    {
        ArgumentNullException.ThrowIfNull(product);
        return new ProductSnapshot(product.Id, product.Sku, product.Name, product.Description, product.Category,
            new Money(product.PriceAmount, product.PriceCurrency), product.Stock, product.Version, product.CreatedAt);
    }

    private static Decision? Precheck(Product? current, long? expectedVersion) =>
        current is null or { IsDeleted: true } ? Decision.NotFound()
        : expectedVersion is { } expected && expected != current.Version ? Decision.Stale(expected, current.Version)
        : null;

    private static Product Existing(Product? current) =>
        current ?? throw new InvalidOperationException("The event changes a product that was not loaded.");

    private static void CopySnapshot(Product product, ProductSnapshot snapshot, DateTimeOffset at)
    {
        product.Sku = snapshot.Sku;
        product.Name = snapshot.Name;
        product.Description = snapshot.Description;
        product.Category = snapshot.Category;
        product.PriceAmount = snapshot.Price.Amount;
        product.PriceCurrency = snapshot.Price.Currency;
        product.Stock = snapshot.Stock;
        product.Version = snapshot.Version;
        product.UpdatedAt = at;
    }
}
