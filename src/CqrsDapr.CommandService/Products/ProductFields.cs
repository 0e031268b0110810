using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using CqrsDapr.CommandService.Http;
using CqrsDapr.Contracts.Products;

namespace CqrsDapr.CommandService.Products;

/// <summary>
/// Reads and validates the product's fields from raw JSON, shared by create and update: each problem becomes a field
/// error (with the JSON path as key) and reading goes on, so a client sees every invalid field at once.
/// </summary>
internal static partial class ProductFields
{
    /// <summary>
    /// Largest price amount: 15 significant digits. Events reach the query side through Dapr bulk subscribe, where
    /// daprd re-encodes JSON numbers as float64, exact only up to 15 significant digits; the column (numeric(18,4))
    /// would hold more.
    /// </summary>
    public const decimal MaxPriceAmount = 99_999_999_999.9999m;

    public const int ReasonMaxLength = 200;

    /// <summary>Members of <paramref name="body"/> not in <paramref name="known"/> (matched case-insensitively) are errors.</summary>
    public static void RejectUnknown(JsonElement body, IReadOnlyCollection<string> known, FieldErrors errors)
    {
        foreach (var member in body.EnumerateObject())
        {
            if (!known.Contains(member.Name, StringComparer.OrdinalIgnoreCase))
            {
                errors.Add(member.Name, $"'{member.Name}' is not a field of this request.");
            }
        }
    }

    /// <summary>The member named <paramref name="name"/> (case-insensitive), if present (null JSON included).</summary>
    public static bool TryGet(JsonElement body, string name, out JsonElement value)
    {
        foreach (var member in body.EnumerateObject())
        {
            if (string.Equals(member.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                value = member.Value;
                return true;
            }
        }

        value = default;
        return false;
    }

    public static string? Sku(JsonElement value, FieldErrors errors)
    {
        var sku = Text(value, "sku", ProductRules.SkuMaxLength, errors)?.ToUpperInvariant();
        if (sku is not null && !SkuPattern().IsMatch(sku))
        {
            errors.Add("sku", "sku may contain only letters, digits, '-', '_' and '.', and must start with a letter or digit.");
            return null;
        }

        return sku;
    }

    public static string? Name(JsonElement value, FieldErrors errors) => Text(value, "name", ProductRules.NameMaxLength, errors);

    public static string? Category(JsonElement value, FieldErrors errors) => Text(value, "category", ProductRules.CategoryMaxLength, errors);

    /// <summary>A description, or null for JSON null (no description). <paramref name="valid"/> is false on an error.</summary>
    public static string? Description(JsonElement value, FieldErrors errors, out bool valid)
    {
        valid = true;
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add("description", "description must be a string or null.");
            valid = false;
            return null;
        }

        var text = value.GetString()!.Trim();
        if (text.Length > ProductRules.DescriptionMaxLength)
        {
            errors.Add("description", $"description must be at most {ProductRules.DescriptionMaxLength} characters.");
            valid = false;
            return null;
        }

        return text.Length == 0 ? null : text;
    }

    public static Money? Price(JsonElement value, FieldErrors errors)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add("price", "price must be an object: {\"amount\": 39.90, \"currency\": \"EUR\"}.");
            return null;
        }

        decimal? amount = null;
        if (!TryGet(value, "amount", out var amountJson) || amountJson.ValueKind == JsonValueKind.Null)
        {
            errors.Add("price.amount", "price.amount is required.");
        }
        else if (amountJson.ValueKind != JsonValueKind.Number || !amountJson.TryGetDecimal(out var parsed))
        {
            errors.Add("price.amount", "price.amount must be a number.");
        }
        else if (parsed < 0)
        {
            errors.Add("price.amount", "price.amount must not be negative.");
        }
        else if (parsed > MaxPriceAmount)
        {
            errors.Add("price.amount", string.Create(CultureInfo.InvariantCulture, $"price.amount must be at most {MaxPriceAmount}."));
        }
        else if (parsed.Scale > 4 && decimal.Round(parsed, 4) != parsed)
        {
            errors.Add("price.amount", "price.amount may have at most 4 decimal places.");
        }
        else
        {
            amount = parsed;
        }

        string? currency = null;
        if (!TryGet(value, "currency", out var currencyJson) || currencyJson.ValueKind == JsonValueKind.Null)
        {
            errors.Add("price.currency", "price.currency is required.");
        }
        else if (currencyJson.ValueKind != JsonValueKind.String)
        {
            errors.Add("price.currency", "price.currency must be a string (an ISO 4217 code such as EUR).");
        }
        else
        {
            var code = currencyJson.GetString()!.Trim().ToUpperInvariant();
            if (Currencies.IsKnown(code))
            {
                currency = code;
            }
            else
            {
                errors.Add("price.currency", $"'{Truncate(currencyJson.GetString()!)}' is not an ISO 4217 currency code.");
            }
        }

        foreach (var member in value.EnumerateObject())
        {
            if (!string.Equals(member.Name, "amount", StringComparison.OrdinalIgnoreCase)
                && !string.Equals(member.Name, "currency", StringComparison.OrdinalIgnoreCase))
            {
                errors.Add("price." + member.Name, $"'{member.Name}' is not a field of price.");
            }
        }

        return amount is { } a && currency is not null ? new Money(a, currency) : null;
    }

    public static int? Stock(JsonElement value, FieldErrors errors)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var stock))
        {
            errors.Add("stock", "stock must be a whole number.");
            return null;
        }

        if (stock < 0)
        {
            errors.Add("stock", "stock must not be negative.");
            return null;
        }

        return stock;
    }

    /// <summary>A required, trimmed, non-empty string of at most <paramref name="maxLength"/> characters.</summary>
    public static string? Text(JsonElement value, string field, int maxLength, FieldErrors errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (value.ValueKind == JsonValueKind.Null)
        {
            errors.Add(field, $"{field} is required and cannot be null.");
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add(field, $"{field} must be a string.");
            return null;
        }

        var text = value.GetString()!.Trim();
        if (text.Length == 0)
        {
            errors.Add(field, $"{field} must not be empty.");
            return null;
        }

        if (text.Length > maxLength)
        {
            errors.Add(field, $"{field} must be at most {maxLength} characters.");
            return null;
        }

        return text;
    }

    private static string Truncate(string text) => text.Length <= 16 ? text : text[..16] + "…";

    [GeneratedRegex("^[A-Z0-9][A-Z0-9._-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex SkuPattern();
}
