namespace CqrsDapr.CommandService.Products;

/// <summary>
/// The product aggregate's state as the write database stores it. <see cref="Version"/> starts at 1 on create and
/// grows by one per accepted command; EF Core uses it as the concurrency token, so two writers that both loaded
/// version N can never both save N+1. Deleted products stay as rows (<see cref="IsDeleted"/>) so their id and
/// version are never reused.
/// </summary>
internal sealed class Product
{
    public Guid Id { get; set; }

    public required string Sku { get; set; }

    public required string Name { get; set; }

    public string? Description { get; set; }

    public required string Category { get; set; }

    public decimal PriceAmount { get; set; }

    public required string PriceCurrency { get; set; }

    public int Stock { get; set; }

    public long Version { get; set; }

    public bool IsDeleted { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
