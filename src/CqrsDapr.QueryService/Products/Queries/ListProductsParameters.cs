using System.Globalization;
using CqrsDapr.QueryService.Views;

namespace CqrsDapr.QueryService.Products.Queries;

/// <summary>The query string of <c>GET /api/products</c>, taken as text and validated here into a <see cref="ProductQuery"/>.</summary>
internal static class ListProductsParameters
{
    public const int DefaultPageSize = 20;
    public const int MaxPageSize = 100;
    public const int MaxCategoryLength = 100;

    private static readonly Dictionary<string, ProductSort> Sorts = new(StringComparer.Ordinal)
    {
        ["name"] = ProductSort.Name,
        ["-name"] = ProductSort.NameDescending,
        ["price"] = ProductSort.Price,
        ["-price"] = ProductSort.PriceDescending,
        ["updatedAt"] = ProductSort.UpdatedAt,
        ["-updatedAt"] = ProductSort.UpdatedAtDescending,
    };

    /// <summary>The query, or null with the errors per parameter name.</summary>
    public static (ProductQuery? Query, Dictionary<string, string[]> Errors) Validate(
        string? category, string? minPrice, string? maxPrice, string? sort, string? pageSize, string? pageToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (category is not null && (category.Length == 0 || category.Length > MaxCategoryLength))
        {
            errors["category"] = [$"Give a category of 1 to {MaxCategoryLength} characters, or leave it out."];
        }

        var min = Price("minPrice", minPrice, errors);
        var max = Price("maxPrice", maxPrice, errors);
        if (min is not null && max is not null && min > max)
        {
            errors["maxPrice"] = ["maxPrice must not be below minPrice."];
        }

        var order = ProductSort.Name;
        if (sort is not null && !Sorts.TryGetValue(sort, out order))
        {
            errors["sort"] = [$"Sort by one of: {string.Join(", ", Sorts.Keys)}."];
        }

        var size = DefaultPageSize;
        if (pageSize is not null && (!int.TryParse(pageSize, NumberStyles.None, CultureInfo.InvariantCulture, out size) || size < 1 || size > MaxPageSize))
        {
            errors["pageSize"] = [$"pageSize is a whole number from 1 to {MaxPageSize}."];
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        var query = new ProductQuery(category, min, max, order, size, pageToken);
        if (pageToken is not null && (!ProductPageToken.TryDecode(pageToken, out var token) || !token.Continues(query)))
        {
            errors["pageToken"] = ["The page token is not valid for these filters and sort: pass it with the same category, price range and sort as the page it came from."];
            return (null, errors);
        }

        return (query, errors);
    }

    private static decimal? Price(string name, string? text, Dictionary<string, string[]> errors)
    {
        if (text is null)
        {
            return null;
        }

        if (!decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount) || amount > ProductViewKeys.MaxPrice)
        {
            errors[name] = [$"{name} is a non-negative decimal amount (for example 12.50) up to {ProductViewKeys.MaxPrice.ToString(CultureInfo.InvariantCulture)}."];
            return null;
        }

        return amount;
    }
}
