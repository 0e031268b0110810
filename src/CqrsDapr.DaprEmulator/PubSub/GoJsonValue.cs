using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using CqrsDapr.DaprEmulator.PubSub.Redis;

namespace CqrsDapr.DaprEmulator.PubSub;

/// <summary>
/// A JSON value as Go's <c>json.Unmarshal</c> into <c>interface{}</c> and then <c>json.Marshal</c> leave it, which is
/// what daprd does to every CloudEvent it puts into a bulk delivery: object keys sorted (a repeated key keeps its last
/// value), every number a float64 (so <c>1.0</c> becomes <c>1</c> and integers beyond 2^53 lose precision), strings
/// escaped as Go escapes them (<c>&lt; &gt; &amp;</c> and U+2028/U+2029 too, other non-ASCII kept as UTF-8).
/// </summary>
internal static class GoJsonValue
{
    /// <summary>Go's unmarshal fails on a number that does not fit a float64: <paramref name="error"/> says which.</summary>
    public static bool TryValidate(JsonElement value, out string? error)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Number:
                if (!value.TryGetDouble(out var number) || !double.IsFinite(number))
                {
                    error = $"json: cannot unmarshal number {value.GetRawText()} into Go value of type float64";
                    return false;
                }

                break;
            case JsonValueKind.Object:
                foreach (var property in value.EnumerateObject())
                {
                    if (!TryValidate(property.Value, out error))
                    {
                        return false;
                    }
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in value.EnumerateArray())
                {
                    if (!TryValidate(item, out error))
                    {
                        return false;
                    }
                }

                break;
            default:
                break;
        }

        error = null;
        return true;
    }

    public static void Write(ArrayBufferWriter<byte> buffer, JsonElement value)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                var properties = new SortedDictionary<string, JsonElement>(StringComparer.Ordinal);
                foreach (var property in value.EnumerateObject())
                {
                    properties[property.Name] = property.Value;
                }

                buffer.Write("{"u8);
                var first = true;
                foreach (var (name, item) in properties)
                {
                    if (!first)
                    {
                        buffer.Write(","u8);
                    }

                    first = false;
                    GoStringMapJson.WriteString(buffer, name);
                    buffer.Write(":"u8);
                    Write(buffer, item);
                }

                buffer.Write("}"u8);
                break;
            case JsonValueKind.Array:
                buffer.Write("["u8);
                var firstItem = true;
                foreach (var item in value.EnumerateArray())
                {
                    if (!firstItem)
                    {
                        buffer.Write(","u8);
                    }

                    firstItem = false;
                    Write(buffer, item);
                }

                buffer.Write("]"u8);
                break;
            case JsonValueKind.String:
                GoStringMapJson.WriteString(buffer, value.GetString()!);
                break;
            case JsonValueKind.Number:
                WriteAscii(buffer, FormatFloat(value.GetDouble()));
                break;
            case JsonValueKind.True:
                buffer.Write("true"u8);
                break;
            case JsonValueKind.False:
                buffer.Write("false"u8);
                break;
            default:
                buffer.Write("null"u8);
                break;
        }
    }

    /// <summary>
    /// Go's <c>encoding/json</c> float64 encoder: the shortest digits that round-trip, plain decimal notation for
    /// 1e-6 ≤ |f| &lt; 1e21, else exponent notation with at least one exponent digit (<c>1e-7</c>, <c>1e+21</c>).
    /// </summary>
    public static string FormatFloat(double value)
    {
        if (value == 0)
        {
            return double.IsNegative(value) ? "-0" : "0";
        }

        var shortest = value.ToString("R", CultureInfo.InvariantCulture);
        var negative = shortest[0] == '-';
        var text = negative ? shortest[1..] : shortest;
        var exponent = 0;
        var e = text.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            exponent = int.Parse(text.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            text = text[..e];
        }

        var dot = text.IndexOf('.', StringComparison.Ordinal);
        var digits = dot >= 0 ? text.Remove(dot, 1) : text;
        var integerDigits = dot >= 0 ? dot : text.Length;
        var leadingZeros = 0;
        while (leadingZeros < digits.Length - 1 && digits[leadingZeros] == '0')
        {
            leadingZeros++;
        }

        digits = digits[leadingZeros..].TrimEnd('0');
        if (digits.Length == 0)
        {
            digits = "0";
        }

        // value = 0.<digits> × 10^point
        var point = integerDigits - leadingZeros + exponent;
        var result = new StringBuilder(digits.Length + 8);
        if (negative)
        {
            result.Append('-');
        }

        var abs = Math.Abs(value);
        if (abs < 1e-6 || abs >= 1e21)
        {
            var x = point - 1;
            result.Append(digits[0]);
            if (digits.Length > 1)
            {
                result.Append('.').Append(digits, 1, digits.Length - 1);
            }

            result.Append('e').Append(x < 0 ? '-' : '+');
            // strconv writes at least two exponent digits; encoding/json trims "e-07" to "e-7" (negative only).
            var magnitude = Math.Abs(x).ToString(CultureInfo.InvariantCulture);
            result.Append(x >= 0 && magnitude.Length < 2 ? "0" + magnitude : magnitude);
        }
        else if (point <= 0)
        {
            result.Append("0.").Append('0', -point).Append(digits);
        }
        else if (point >= digits.Length)
        {
            result.Append(digits).Append('0', point - digits.Length);
        }
        else
        {
            result.Append(digits, 0, point).Append('.').Append(digits, point, digits.Length - point);
        }

        return result.ToString();
    }

    private static void WriteAscii(ArrayBufferWriter<byte> buffer, string text)
    {
        var span = buffer.GetSpan(text.Length);
        buffer.Advance(Encoding.ASCII.GetBytes(text, span));
    }
}
