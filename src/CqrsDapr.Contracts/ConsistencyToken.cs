using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace CqrsDapr.Contracts;

/// <summary>
/// What a write returns so a later read can wait until the views have caught up: the aggregate and the version the
/// write produced. Opaque to clients (base64url of <c>v1:{aggregateType}:{aggregateId}:{version}</c>); only the two
/// services read it.
/// </summary>
public readonly record struct ConsistencyToken(string AggregateType, string AggregateId, long Version)
{
    private const string Prefix = "v1";

    public override string ToString() =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{Prefix}:{AggregateType}:{AggregateId}:{Version}")));

    public static bool TryParse(string? text, out ConsistencyToken token)
    {
        token = default;
        if (string.IsNullOrEmpty(text) || text.Length > 512)
        {
            return false;
        }

        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(text);
        }
        catch (FormatException)
        {
            return false;
        }

        var parts = Encoding.UTF8.GetString(bytes).Split(':');
        if (parts.Length != 4 || parts[0] != Prefix || parts[1].Length == 0 || parts[2].Length == 0 ||
            !long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            return false;
        }

        token = new ConsistencyToken(parts[1], parts[2], version);
        return true;
    }
}
