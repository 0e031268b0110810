using System.Globalization;
using Npgsql;

namespace CqrsDapr.TestSupport;

/// <summary>
/// Dapr's <c>state.postgresql</c> component parses its <c>connectionString</c> with pgx, which takes libpq keyword/value
/// strings or <c>postgres://</c> URLs, not Npgsql's <c>Key=Value;</c> form. Tests hold Npgsql strings; this converts.
/// </summary>
public static class PostgresConnectionStrings
{
    /// <summary>
    /// <c>Host=h;Port=p;Username=u;Database=d</c> → <c>host=h port=p user=u dbname=d sslmode=disable</c>; URLs and
    /// strings already in keyword/value form pass through unchanged.
    /// </summary>
    public static string ToLibpq(string connectionString)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        if (!connectionString.Contains(';', StringComparison.Ordinal) || connectionString.StartsWith("postgres", StringComparison.OrdinalIgnoreCase) && connectionString.Contains("://", StringComparison.Ordinal))
        {
            return connectionString;
        }

        var npgsql = new NpgsqlConnectionStringBuilder(connectionString);
        static string Quote(string value) => "'" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";
        var parts = new List<string>
        {
            $"host={Quote(npgsql.Host ?? "localhost")}",
            $"port={npgsql.Port.ToString(CultureInfo.InvariantCulture)}",
            "sslmode=disable",
        };
        if (!string.IsNullOrEmpty(npgsql.Username))
        {
            parts.Add($"user={Quote(npgsql.Username)}");
        }

        if (!string.IsNullOrEmpty(npgsql.Password))
        {
            parts.Add($"password={Quote(npgsql.Password)}");
        }

        if (!string.IsNullOrEmpty(npgsql.Database))
        {
            parts.Add($"dbname={Quote(npgsql.Database)}");
        }

        return string.Join(' ', parts);
    }
}
