using CqrsDapr.QueryService.Products;

namespace CqrsDapr.QueryService.Views;

/// <summary>A stored view and the store's ETag for it (for first-write-wins updates).</summary>
internal sealed record StoredView(ProductView View, string ETag);

/// <summary>Filters, order and page of a product list query. <see cref="PageToken"/> is the opaque keyset token.</summary>
internal sealed record ProductQuery(
    string? Category,
    decimal? MinPrice,
    decimal? MaxPrice,
    ProductSort Sort,
    int PageSize,
    string? PageToken);

internal enum ProductSort
{
    Name,
    NameDescending,
    Price,
    PriceDescending,
    UpdatedAt,
    UpdatedAtDescending,
}

/// <summary>One page of views (no tombstones) and the token of the next page, null on the last.</summary>
internal sealed record ProductPage(IReadOnlyList<ProductView> Items, string? NextPageToken);

/// <summary>
/// Where product views live. Implementations: the Dapr state store <c>viewstore</c> (state.postgresql v1) now, Cosmos
/// DB later; both must pass the same contract test suite.
/// </summary>
internal interface IProductViewStore
{
    /// <summary>The view (tombstones included) and its ETag, or null when there is none.</summary>
    Task<StoredView?> GetAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>
    /// Saves <paramref name="view"/> only if the stored one still has <paramref name="etag"/> (null: only if none exists
    /// yet). False when another writer got there first: the caller reloads and decides again.
    /// </summary>
    Task<bool> TrySaveAsync(ProductView view, string? etag, CancellationToken cancellationToken);

    /// <summary>Live views (never tombstones) matching <paramref name="query"/>, in its order, one page.</summary>
    Task<ProductPage> QueryAsync(ProductQuery query, CancellationToken cancellationToken);
}
