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

/// <summary>The view stores of each generation (one per generation, created on first use).</summary>
internal interface IProductViewStores
{
    IProductViewStore Generation(int generation);
}

/// <summary>One page of views (no tombstones) and the token of the next page, null on the last.</summary>
internal sealed record ProductPage(IReadOnlyList<ProductView> Items, string? NextPageToken);

/// <summary>
/// Where product views of one generation live (see <see cref="ViewGenerations"/>). Implementations: the Dapr state
/// store <c>viewstore</c> (<see cref="DaprProductViewStore"/>, state.postgresql v1) and Azure Cosmos DB
/// (<see cref="Cosmos.CosmosProductViewStore"/>); both pass the same contract test suite.
/// </summary>
internal interface IProductViewStore
{
    /// <summary>The generation this store reads and writes.</summary>
    int Generation { get; }

    /// <summary>The view (tombstones included) and its ETag, or null when there is none.</summary>
    Task<StoredView?> GetAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>
    /// Saves <paramref name="view"/> only if the stored one still has <paramref name="etag"/> (null: only if none exists
    /// yet). False when another writer got there first: the caller reloads and decides again.
    /// </summary>
    Task<bool> TrySaveAsync(ProductView view, string? etag, CancellationToken cancellationToken);

    /// <summary>The views of <paramref name="ids"/> that exist (tombstones included), in one round trip.</summary>
    Task<IReadOnlyDictionary<Guid, StoredView>> GetManyAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken);

    /// <summary>
    /// Saves each view under the same rule as <see cref="TrySaveAsync"/>, in one round trip. Not atomic: false when any
    /// save failed (some may have succeeded); the caller then applies the batch's events one by one, which is idempotent.
    /// </summary>
    Task<bool> TrySaveManyAsync(IReadOnlyList<(ProductView View, string? ETag)> views, CancellationToken cancellationToken);

    /// <summary>Deletes every document of this generation (tombstones included): a retired generation's cleanup.</summary>
    Task<long> DeleteAllAsync(CancellationToken cancellationToken);

    /// <summary>Live views (never tombstones) matching <paramref name="query"/>, in its order, one page.</summary>
    Task<ProductPage> QueryAsync(ProductQuery query, CancellationToken cancellationToken);
}
