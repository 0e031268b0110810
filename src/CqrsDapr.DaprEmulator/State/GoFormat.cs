using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace CqrsDapr.DaprEmulator.State;

/// <summary>
/// How Go prints the values daprd and components-contrib handle as <c>interface{}</c>. Both sides of daprd decode JSON
/// into Go values (numbers become <c>float64</c>) and print or re-encode them, so these details leak into what a state
/// store holds and how a query compares. Follows Go 1.24 <c>strconv</c>/<c>fmt</c>/<c>encoding/json</c>, as built
/// into daprd 1.16.
/// </summary>
internal static class GoFormat
{
    /// <summary>
    /// <c>fmt.Sprintf("%v", v)</c> of a JSON value decoded by <c>encoding/json</c> into <c>interface{}</c>: strings
    /// unquoted, numbers as <c>float64</c> in <c>%g</c> shortest form (<c>1e+06</c>), <c>null</c> as <c>&lt;nil&gt;</c>,
    /// arrays as <c>[a b]</c>, objects as <c>map[k:v]</c> with sorted keys.
    /// </summary>
    public static string Value(JsonElement value)
    {
        var builder = new StringBuilder();
        AppendValue(builder, value);
        return builder.ToString();
    }

    /// <summary><c>strconv.FormatFloat(v, 'g', -1, 64)</c>: shortest digits, exponent form when exp &lt; -4 or ≥ 6.</summary>
    public static string FloatG(double value)
    {
        var (negative, digits, point) = ShortestDigits(value);
        var exponent = point - 1;
        return digits.Length > 0 && (exponent < -4 || exponent >= 6)
            ? FormatE(negative, digits, exponent)
            : FormatF(negative, digits, point);
    }

    /// <summary><c>encoding/json</c>'s float64 encoding: plain decimal, exponent form below 1e-6 or from 1e21.</summary>
    public static string JsonFloat(double value)
    {
        var (negative, digits, point) = ShortestDigits(value);
        var abs = Math.Abs(value);
        if (abs != 0 && (abs < 1e-6 || abs >= 1e21))
        {
            // strconv 'e' format, then json's clean-up of "e-09" to "e-9".
            var text = FormatE(negative, digits, point - 1);
            var n = text.Length;
            return n >= 4 && text[n - 4] == 'e' && text[n - 3] == '-' && text[n - 2] == '0'
                ? string.Concat(text.AsSpan(0, n - 2), text.AsSpan(n - 1))
                : text;
        }

        return FormatF(negative, digits, point);
    }

    /// <summary>
    /// The JSON text a structured state value becomes on its way through daprd into the store: daprd decodes it into
    /// <c>interface{}</c> (numbers become <c>float64</c>) and the store re-encodes it with <c>json.Marshal</c>. Key order
    /// and string escapes do not survive jsonb anyway, but number precision does: <c>1.50</c> becomes <c>1.5</c> and
    /// integers beyond 2^53 are rounded. Returns <paramref name="utf8Json"/> itself when no number changes.
    /// </summary>
    public static ReadOnlyMemory<byte> ThroughFloat64(ReadOnlyMemory<byte> utf8Json)
    {
        List<(int Start, int Length, string Text)>? edits = null;
        var reader = new Utf8JsonReader(utf8Json.Span, new JsonReaderOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow });
        while (reader.Read())
        {
            if (reader.TokenType != JsonTokenType.Number)
            {
                continue;
            }

            var raw = reader.ValueSpan;
            if (IsShortInteger(raw))
            {
                // Integers below 1e15 survive float64 and print identically.
                continue;
            }

            var parsed = double.Parse(raw, NumberStyles.Float, CultureInfo.InvariantCulture);
            if (double.IsInfinity(parsed))
            {
                throw new FormatException($"json: cannot unmarshal number {Encoding.UTF8.GetString(raw)} into Go value of type float64");
            }

            var text = JsonFloat(parsed);
            if (!AsciiEquals(raw, text))
            {
                (edits ??= []).Add(((int)reader.TokenStartIndex, raw.Length, text));
            }
        }

        if (edits is null)
        {
            return utf8Json;
        }

        var source = utf8Json.Span;
        var output = new ArrayBufferWriter<byte>(source.Length + 16);
        var position = 0;
        foreach (var (start, length, text) in edits)
        {
            output.Write(source[position..start]);
            var span = output.GetSpan(text.Length);
            var written = Encoding.ASCII.GetBytes(text, span);
            output.Advance(written);
            position = start + length;
        }

        output.Write(source[position..]);
        return output.WrittenMemory;
    }

    private static void AppendValue(StringBuilder builder, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                builder.Append(value.GetString());
                break;
            case JsonValueKind.Number:
                builder.Append(FloatG(value.GetDouble()));
                break;
            case JsonValueKind.True:
                builder.Append("true");
                break;
            case JsonValueKind.False:
                builder.Append("false");
                break;
            case JsonValueKind.Array:
                {
                    builder.Append('[');
                    var first = true;
                    foreach (var item in value.EnumerateArray())
                    {
                        if (!first)
                        {
                            builder.Append(' ');
                        }

                        AppendValue(builder, item);
                        first = false;
                    }

                    builder.Append(']');
                    break;
                }

            case JsonValueKind.Object:
                {
                    // Go decodes objects into map[string]interface{} (last duplicate wins); fmt sorts map keys.
                    var entries = new SortedDictionary<string, JsonElement>(StringComparer.Ordinal);
                    foreach (var property in value.EnumerateObject())
                    {
                        entries[property.Name] = property.Value;
                    }

                    builder.Append("map[");
                    var first = true;
                    foreach (var (key, item) in entries)
                    {
                        if (!first)
                        {
                            builder.Append(' ');
                        }

                        builder.Append(key).Append(':');
                        AppendValue(builder, item);
                        first = false;
                    }

                    builder.Append(']');
                    break;
                }

            default:
                builder.Append("<nil>");
                break;
        }
    }

    /// <summary>Shortest round-trip decimal digits of <paramref name="value"/> (no leading/trailing zeros) and the decimal point position.</summary>
    private static (bool Negative, string Digits, int Point) ShortestDigits(double value)
    {
        var negative = double.IsNegative(value);
        if (value == 0)
        {
            return (negative, "", 0);
        }

        // .NET's "R" is the shortest round-trip form, like Go's strconv with precision -1.
        var text = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        var exponent = 0;
        var e = text.IndexOfAny(['E', 'e']);
        var mantissa = text.AsSpan();
        if (e >= 0)
        {
            exponent = int.Parse(text.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            mantissa = mantissa[..e];
        }

        var dot = mantissa.IndexOf('.');
        var integerPart = dot >= 0 ? mantissa[..dot] : mantissa;
        var fractionPart = dot >= 0 ? mantissa[(dot + 1)..] : [];
        var all = string.Concat(integerPart, fractionPart);
        var point = integerPart.Length + exponent;
        var leading = 0;
        while (leading < all.Length - 1 && all[leading] == '0')
        {
            leading++;
        }

        all = all[leading..];
        point -= leading;
        return (negative, all.TrimEnd('0'), point);
    }

    private static string FormatE(bool negative, string digits, int exponent)
    {
        var builder = new StringBuilder(digits.Length + 8);
        if (negative)
        {
            builder.Append('-');
        }

        builder.Append(digits[0]);
        if (digits.Length > 1)
        {
            builder.Append('.').Append(digits, 1, digits.Length - 1);
        }

        builder.Append('e').Append(exponent < 0 ? '-' : '+');
        var abs = Math.Abs(exponent);
        if (abs < 10)
        {
            builder.Append('0');
        }

        builder.Append(abs.ToString(CultureInfo.InvariantCulture));
        return builder.ToString();
    }

    private static string FormatF(bool negative, string digits, int point)
    {
        var builder = new StringBuilder(digits.Length + Math.Abs(point) + 3);
        if (negative)
        {
            builder.Append('-');
        }

        if (digits.Length == 0)
        {
            return builder.Append('0').ToString();
        }

        if (point <= 0)
        {
            builder.Append("0.").Append('0', -point).Append(digits);
        }
        else if (point >= digits.Length)
        {
            builder.Append(digits).Append('0', point - digits.Length);
        }
        else
        {
            builder.Append(digits, 0, point).Append('.').Append(digits, point, digits.Length - point);
        }

        return builder.ToString();
    }

    private static bool IsShortInteger(ReadOnlySpan<byte> raw)
    {
        var digits = raw.Length > 0 && raw[0] == (byte)'-' ? raw[1..] : raw;
        if (digits.Length is 0 or > 15)
        {
            return false;
        }

        foreach (var b in digits)
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                return false;
            }
        }

        return true;
    }

    private static bool AsciiEquals(ReadOnlySpan<byte> raw, string text)
    {
        if (raw.Length != text.Length)
        {
            return false;
        }

        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] != text[i])
            {
                return false;
            }
        }

        return true;
    }
}
