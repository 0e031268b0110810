using CqrsDapr.Contracts.Products;

namespace CqrsDapr.QueryService.Products;

/// <summary>
/// The product read view as stored and served. <see cref="Version"/> is the aggregate version it reflects: projectors
/// apply an event only when its version is newer. A deleted product stays as a tombstone (<see cref="Deleted"/>, id
/// and version kept) so a late, older event cannot bring it back; tombstones are never served.
/// The <c>*Key</c> fields exist for Dapr's state query API, which compares and sorts values as text
/// (dapr-contract.md §3.8): each is a fixed-width, lexicographically ordered encoding of the field it sorts or filters.
/// </summary>
internal sealed record ProductView
{
    /// <summary>Every stored document names its view type; every query filters on it (the query API is not scoped).</summary>
    public const string Type = "product";

    /// <summary>
    /// The view type of generation <paramref name="generation"/>: <c>product</c> for the first, <c>product.g{n}</c> for
    /// rebuilt ones, so a generation being built never shows in the queries of the one being served.
    /// </summary>
    public static string TypeIn(int generation) =>
        generation switch
        {
            < 1 => throw new ArgumentOutOfRangeException(nameof(generation), generation, "Generations start at 1."),
            1 => Type,
            _ => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Type}.g{generation}"),
        };

    public string ViewType { get; init; } = Type;

    public required Guid Id { get; init; }

    public required string Sku { get; init; }

    public required string Name { get; init; }

    public string? Description { get; init; }

    public required string Category { get; init; }

    public required Money Price { get; init; }

    public required int Stock { get; init; }

    public required long Version { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required DateTimeOffset UpdatedAt { get; init; }

    public bool Deleted { get; init; }

    /// <summary>Price in minor units (4 decimals), zero-padded to 20 digits; ranges and sorting within one currency.</summary>
    public string PriceKey { get; init; } = "";

    /// <summary>Lower-case name as hex of its UTF-8 bytes (ordinal order under any collation), for sorting by name.</summary>
    public string NameKey { get; init; } = "";

    /// <summary><see cref="UpdatedAt"/> as <c>yyyy-MM-ddTHH:mm:ss.fffffffZ</c> (UTC, fixed width).</summary>
    public string UpdatedAtKey { get; init; } = "";
}
