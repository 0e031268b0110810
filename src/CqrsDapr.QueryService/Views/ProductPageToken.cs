using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CqrsDapr.QueryService.Views;

/// <summary>
/// The opaque continuation of a product list: where the last page ended in the sort order (its sort key and id), the
/// sort and a fingerprint of the filters it was issued for, and a scan hint (an offset in the store's sorted result;
/// only a hint: the store checks it and rescans from the start when rows moved). Base64url of compact JSON.
/// A token is only valid with the same filters and sort; clients treat it as opaque.
/// </summary>
internal sealed record ProductPageToken(
    [property: JsonPropertyName("s")] ProductSort Sort,
    [property: JsonPropertyName("k")] string LastKey,
    [property: JsonPropertyName("i")] Guid LastId,
    [property: JsonPropertyName("f")] string Filter,
    [property: JsonPropertyName("o")] long Hint)
{
    private const int MaxLength = 2048;

    public string Encode() => Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(this, TokenJson.Default.ProductPageToken));

    /// <summary>False for anything that is not a token this service issued in shape (garbage, truncated, edited JSON).</summary>
    public static bool TryDecode(string? text, out ProductPageToken token)
    {
        token = null!;
        if (string.IsNullOrEmpty(text) || text.Length > MaxLength)
        {
            return false;
        }

        try
        {
            var decoded = JsonSerializer.Deserialize(Base64Url.DecodeFromChars(text), TokenJson.Default.ProductPageToken);
            if (decoded is null || decoded.LastKey is null || decoded.Filter is null || decoded.Hint < 0 || !Enum.IsDefined(decoded.Sort))
            {
                return false;
            }

            token = decoded;
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// The token <paramref name="query"/> continues from, or null for a first page; what a store checks before it lists.
    /// Throws for a token that does not decode or was issued for other filters or another sort (the endpoint validates
    /// tokens first, so this is a caller's bug).
    /// </summary>
    public static ProductPageToken? Of(ProductQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.PageSize, 1);
        if (query.PageToken is null)
        {
            return null;
        }

        return TryDecode(query.PageToken, out var token) && token.Continues(query)
            ? token
            : throw new ArgumentException("The page token does not continue this query; validate it before querying.", nameof(query));
    }

    /// <summary>A short, stable digest of the filters of <paramref name="query"/> (not its sort, page size or token).</summary>
    public static string FingerprintOf(ProductQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var canonical = string.Create(CultureInfo.InvariantCulture, $"{query.Category?.Length ?? -1}:{query.Category}|{query.MinPrice}|{query.MaxPrice}");
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)).AsSpan(0, 8));
    }

    /// <summary>True when this token continues a list with the same filters and sort as <paramref name="query"/>.</summary>
    public bool Continues(ProductQuery query) => query is not null && query.Sort == Sort && Filter == FingerprintOf(query);
}

[JsonSerializable(typeof(ProductPageToken))]
[JsonSourceGenerationOptions(UseStringEnumConverter = false)]
internal sealed partial class TokenJson : JsonSerializerContext;
