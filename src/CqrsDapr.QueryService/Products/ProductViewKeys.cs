using System.Globalization;
using System.Text;

namespace CqrsDapr.QueryService.Products;

/// <summary>
/// The text encodings of a product view's sortable fields. Dapr's query API on <c>state.postgresql</c> v1 compares and
/// sorts values as text (dapr-contract.md §3.8), so each key is built so that comparing two keys character by
/// character gives the order of the values they encode, and uses only characters (digits, lower-case hex, fixed
/// punctuation at fixed positions) that order the same under any database collation.
/// Projectors store every view through <see cref="WithKeys"/>.
/// </summary>
internal static class ProductViewKeys
{
    /// <summary>Digits in <see cref="ProductView.PriceKey"/>: up to 9,999,999,999,999,999.9999 in major units.</summary>
    public const int PriceDigits = 20;

    /// <summary>Minor units per major unit in <see cref="ProductView.PriceKey"/> (4 decimals).</summary>
    public const decimal MinorUnits = 10_000m;

    /// <summary>The largest amount with a price key.</summary>
    public static readonly decimal MaxPrice = decimal.Parse(new string('9', PriceDigits), CultureInfo.InvariantCulture) / MinorUnits;

    /// <summary>The view with <see cref="ProductView.PriceKey"/>, <see cref="ProductView.NameKey"/> and <see cref="ProductView.UpdatedAtKey"/> computed from its fields.</summary>
    public static ProductView WithKeys(ProductView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        return view with
        {
            PriceKey = Price(view.Price.Amount),
            NameKey = Name(view.Name),
            UpdatedAtKey = Timestamp(view.UpdatedAt),
        };
    }

    /// <summary>
    /// The amount in minor units (4 decimals, further decimals truncated, so the order never inverts), zero-padded to
    /// <see cref="PriceDigits"/> digits: <c>12.5</c> → <c>00000000000000125000</c>. Negative or larger amounts have no key.
    /// </summary>
    public static string Price(decimal amount)
    {
        if (amount < 0 || amount > MaxPrice)
        {
            throw new ArgumentOutOfRangeException(nameof(amount), amount, $"A price key needs 0 <= amount <= {MaxPrice}.");
        }

        var minor = decimal.Truncate(amount * MinorUnits);
        return minor.ToString(new string('0', PriceDigits), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The name lower-cased (invariant) as the hex of its UTF-8 bytes: hex digits keep the byte order of the text (a
    /// prefix sorts first) whatever the database collation, which would otherwise reorder punctuation and spaces.
    /// </summary>
    public static string Name(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Convert.ToHexStringLower(Encoding.UTF8.GetBytes(name.ToLowerInvariant()));
    }

    /// <summary>The instant in UTC as <c>yyyy-MM-ddTHH:mm:ss.fffffffZ</c>: fixed width, so text order is time order.</summary>
    public static string Timestamp(DateTimeOffset instant) =>
        instant.UtcDateTime.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffff'Z'", CultureInfo.InvariantCulture);
}
