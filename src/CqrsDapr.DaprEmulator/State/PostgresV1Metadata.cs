using System.Globalization;
using CqrsDapr.DaprEmulator.Components;

namespace CqrsDapr.DaprEmulator.State;

/// <summary>
/// Component metadata of <c>state.postgresql</c> v1 as components-contrib v1.16 reads it
/// (<c>common/component/postgresql/v1/metadata.go</c>, <c>common/authentication/postgresql/metadata.go</c>, decoded with
/// dapr/kit <c>DecodeMetadata</c>: names case-insensitive, durations as Go durations or whole seconds).
/// </summary>
internal sealed record PostgresV1Metadata(
    string ConnectionString,
    string TableName,
    string MetadataTableName,
    TimeSpan Timeout,
    TimeSpan? CleanupInterval,
    int MaxConns,
    TimeSpan ConnectionMaxIdleTime)
{
    public const string DefaultTableName = "state";
    public const string DefaultMetadataTableName = "dapr_metadata";

    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan DefaultCleanupInterval = TimeSpan.FromHours(1);
    private static readonly HashSet<string> QueryExecModes = new(StringComparer.Ordinal) { "cache_statement", "cache_describe", "describe_exec", "exec", "simple_protocol" };

    /// <summary>Throws <see cref="FormatException"/> with the message daprd logs for bad metadata.</summary>
    public static PostgresV1Metadata Parse(ComponentDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var connectionString = First(definition, "connectionString", "url") ?? "";
        if (connectionString.Length == 0)
        {
            throw new FormatException("failed to parse metadata: missing connection string");
        }

        var timeout = Duration(definition, "timeout", "timeoutInSeconds") ?? DefaultTimeout;
        if (timeout < TimeSpan.FromSeconds(1))
        {
            throw new FormatException("failed to parse metadata: invalid value for 'timeout': must be greater than 1s");
        }

        // Absent or empty: one hour; "0" or any non-positive value disables the sweep.
        var cleanupText = First(definition, "cleanupInterval", "cleanupIntervalInSeconds");
        TimeSpan? cleanup = cleanupText switch
        {
            null or "" => DefaultCleanupInterval,
            _ => Duration(definition, "cleanupInterval", "cleanupIntervalInSeconds"),
        };
        if (cleanup is { } c && c <= TimeSpan.Zero)
        {
            cleanup = null;
        }

        var maxConns = 0;
        if (First(definition, "maxConns") is { Length: > 0 } maxConnsText
            && !int.TryParse(maxConnsText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out maxConns))
        {
            throw new FormatException($"failed to parse metadata: cannot parse 'maxConns' as int: strconv.ParseInt: parsing \"{maxConnsText}\": invalid syntax");
        }

        if (First(definition, "queryExecMode") is { Length: > 0 } mode && !QueryExecModes.Contains(mode))
        {
            throw new FormatException($"invalid queryExecMode metadata value: {mode}");
        }

        return new PostgresV1Metadata(
            connectionString,
            NonEmpty(First(definition, "tableName")) ?? DefaultTableName,
            NonEmpty(First(definition, "metadataTableName")) ?? DefaultMetadataTableName,
            timeout,
            cleanup,
            maxConns,
            Duration(definition, "connectionMaxIdleTime") ?? TimeSpan.Zero);
    }

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    /// <summary>The property, or the first alias present (dapr/kit: an alias only counts when the name is absent).</summary>
    private static string? First(ComponentDefinition definition, params string[] names)
    {
        foreach (var name in names)
        {
            if (definition.Get(name) is { } value)
            {
                return value;
            }
        }

        return null;
    }

    private static TimeSpan? Duration(ComponentDefinition definition, params string[] names)
    {
        var text = First(definition, names);
        if (text is null)
        {
            return null;
        }

        if (text.Length == 0)
        {
            return TimeSpan.Zero;
        }

        // dapr/kit: time.ParseDuration first, then whole seconds.
        if (!text.StartsWith('P') && !text.StartsWith("-P", StringComparison.Ordinal))
        {
            try
            {
                return GoDuration.Parse(text);
            }
            catch (FormatException)
            {
                // Not a Go duration: try seconds below.
            }
        }

        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds)
            ? TimeSpan.FromSeconds(seconds)
            : throw new FormatException($"failed to parse metadata: time: invalid duration \"{text}\"");
    }
}
