using CqrsDapr.CommandService.Http;

namespace CqrsDapr.CommandService.Products;

/// <summary>The <c>{id}</c> route value. Bound as a string, not <c>{id:guid}</c>, so a malformed id is a 400 field error, not a 404.</summary>
internal static class ProductRoute
{
    public const string Prefix = "/api/products";

    public static Guid? ParseId(string id, FieldErrors errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (Guid.TryParseExact(id, "D", out var parsed))
        {
            return parsed;
        }

        errors.Add("id", "id must be a UUID such as 0190f1c2-7a3b-7cde-8f00-123456789abc.");
        return null;
    }

    public static string Location(Guid id) => $"{Prefix}/{id:D}";
}
