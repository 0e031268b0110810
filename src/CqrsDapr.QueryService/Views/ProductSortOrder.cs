using CqrsDapr.QueryService.Products;

namespace CqrsDapr.QueryService.Views;

/// <summary>
/// A list's sort as both stores apply it: the stored key field it orders by, its direction, and the same order in memory
/// (ordinal, as the keys are built for; ties broken by the id's text).
/// </summary>
internal readonly record struct ProductSortOrder(ProductSort Sort) : IComparer<ProductView>
{
    public string Field => Sort switch
    {
        ProductSort.Name or ProductSort.NameDescending => "nameKey",
        ProductSort.Price or ProductSort.PriceDescending => "priceKey",
        _ => "updatedAtKey",
    };

    public bool Descending => Sort is ProductSort.NameDescending or ProductSort.PriceDescending or ProductSort.UpdatedAtDescending;

    public string KeyOf(ProductView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        return Sort switch
        {
            ProductSort.Name or ProductSort.NameDescending => view.NameKey,
            ProductSort.Price or ProductSort.PriceDescending => view.PriceKey,
            _ => view.UpdatedAtKey,
        };
    }

    /// <summary>Negative when (key, id) comes before <paramref name="other"/> in this order.</summary>
    public int Compare(string key, Guid id, (string Key, Guid Id) other)
    {
        var byKey = string.CompareOrdinal(key, other.Key);
        var result = byKey != 0 ? byKey : string.CompareOrdinal(id.ToString("D"), other.Id.ToString("D"));
        return Descending ? -result : result;
    }

    public int Compare(ProductView? x, ProductView? y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        return Compare(KeyOf(x), x.Id, (KeyOf(y), y.Id));
    }
}
