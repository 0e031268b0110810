using System.Globalization;
using Microsoft.Net.Http.Headers;

namespace CqrsDapr.CommandService.Http;

/// <summary>The product version as an entity tag: <c>"3"</c>.</summary>
internal static class VersionETag
{
    public static string Format(long version) => string.Create(CultureInfo.InvariantCulture, $"\"{version}\"");

    /// <summary>
    /// The version an <c>If-Match</c> header demands, or null when there is none (or <c>*</c>: any current version).
    /// A tag that is not one of ours (weak, not a number) can match no version: it yields <c>0</c>, which no product
    /// ever has, so the command fails its precondition (RFC 9110 §13.1.1 uses strong comparison for If-Match).
    /// </summary>
    public static long? ExpectedVersion(string? ifMatch)
    {
        if (string.IsNullOrWhiteSpace(ifMatch) || ifMatch.Trim() == "*")
        {
            return null;
        }

        if (EntityTagHeaderValue.TryParse(ifMatch.Trim(), out var tag) && !tag.IsWeak
            && long.TryParse(tag.Tag.AsSpan(1, tag.Tag.Length - 2), NumberStyles.None, CultureInfo.InvariantCulture, out var version)
            && version > 0)
        {
            return version;
        }

        return 0;
    }
}
