using System.Globalization;
using System.Text.RegularExpressions;

namespace CqrsDapr.DaprEmulator.Components;

/// <summary>Parses Go <c>time.ParseDuration</c> strings ("1h0m30s0ms", "500ms", "15s") and ISO-8601 durations ("PT1M").</summary>
internal static partial class GoDuration
{
    public static TimeSpan Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = text.Trim();
        if (text is "0" or "")
        {
            return TimeSpan.Zero;
        }

        if (text.StartsWith('P') || text.StartsWith("-P", StringComparison.Ordinal))
        {
            return System.Xml.XmlConvert.ToTimeSpan(text);
        }

        var matches = Part().Matches(text);
        if (matches.Count == 0 || string.Concat(matches.Select(m => m.Value)) != text.TrimStart('-', '+'))
        {
            throw new FormatException($"invalid duration \"{text}\"");
        }

        double ms = 0;
        foreach (Match m in matches)
        {
            var n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            ms += m.Groups[2].Value switch
            {
                "ns" => n / 1_000_000,
                "us" or "µs" => n / 1000,
                "ms" => n,
                "s" => n * 1000,
                "m" => n * 60_000,
                "h" => n * 3_600_000,
                _ => throw new FormatException($"invalid duration unit in \"{text}\""),
            };
        }

        return TimeSpan.FromMilliseconds(text.StartsWith('-') ? -ms : ms);
    }

    /// <summary>Formats as Go does for the simple cases the SDK sends back ("1h0m0s" style is accepted by both).</summary>
    public static string Format(TimeSpan value) =>
        string.Create(CultureInfo.InvariantCulture, $"{(int)value.TotalHours}h{value.Minutes}m{value.Seconds}s{value.Milliseconds}ms");

    [GeneratedRegex(@"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")]
    private static partial Regex Part();
}
