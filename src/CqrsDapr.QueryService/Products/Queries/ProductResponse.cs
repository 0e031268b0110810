using CqrsDapr.Contracts.Products;

namespace CqrsDapr.QueryService.Products.Queries;

/// <summary>A product as clients see it: the view without its storage fields (keys, view type, tombstone flag).</summary>
internal sealed record ProductResponse(
    Guid Id,
    string Sku,
    string Name,
    string? Description,
    string Category,
    Money Price,
    int Stock,
    long Version,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public static ProductResponse From(ProductView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        return new(view.Id, view.Sku, view.Name, view.Description, view.Category, view.Price, view.Stock, view.Version, view.CreatedAt, view.UpdatedAt);
    }
}

/// <summary>One page of products; <see cref="NextPageToken"/> continues the same list, null on the last page.</summary>
internal sealed record ProductListResponse(IReadOnlyList<ProductResponse> Items, string? NextPageToken);
