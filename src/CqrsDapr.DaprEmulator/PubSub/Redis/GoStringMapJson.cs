using System.Buffers;
using System.Collections.Frozen;
using System.Text;
using System.Text.Json;

namespace CqrsDapr.DaprEmulator.PubSub.Redis;

/// <summary>
/// The <c>metadata</c> field of a Redis stream entry: Go's <c>json.Marshal</c> of a <c>map[string]string</c> as
/// components-contrib v1.16 writes it (keys sorted, <c>&lt; &gt; &amp;</c> and U+2028/U+2029 escaped, other non-ASCII
/// kept as UTF-8), and its decoding.
/// </summary>
internal static class GoStringMapJson
{
    private static readonly IReadOnlyDictionary<string, string> Empty = FrozenDictionary<string, string>.Empty;

    public static byte[] Serialize(IReadOnlyDictionary<string, string> map)
    {
        ArgumentNullException.ThrowIfNull(map);
        var keys = new string[map.Count];
        var i = 0;
        foreach (var key in map.Keys)
        {
            keys[i++] = key;
        }

        // Go sorts map keys by their UTF-8 bytes; ordinal UTF-16 order agrees except for surrogate pairs vs U+E000..U+FFFF.
        Array.Sort(keys, StringComparer.Ordinal);
        var buffer = new ArrayBufferWriter<byte>(16 + (map.Count * 32));
        buffer.Write("{"u8);
        for (i = 0; i < keys.Length; i++)
        {
            if (i > 0)
            {
                buffer.Write(","u8);
            }

            WriteString(buffer, keys[i]);
            buffer.Write(":"u8);
            WriteString(buffer, map[keys[i]]);
        }

        buffer.Write("}"u8);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Decodes the field; <see langword="null"/> with <paramref name="error"/> set when it is not a JSON object of strings.</summary>
    public static IReadOnlyDictionary<string, string>? TryDeserialize(ReadOnlySpan<byte> json, out string? error)
    {
        error = null;
        if (json.SequenceEqual("{}"u8))
        {
            return Empty;
        }

        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                if (reader.TokenType == JsonTokenType.Null && !reader.Read())
                {
                    return Empty;
                }

                error = "json: cannot unmarshal into Go value of type map[string]string";
                return null;
            }

            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var key = reader.GetString()!;
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    map[key] = reader.GetString()!;
                }
                else if (reader.TokenType != JsonTokenType.Null)
                {
                    error = $"json: cannot unmarshal {reader.TokenType} into Go value of type string";
                    return null;
                }
            }

            return map;
        }
        catch (JsonException ex)
        {
            error = ex.Message;
            return null;
        }
    }

    internal static void WriteString(ArrayBufferWriter<byte> buffer, string value)
    {
        buffer.Write("\""u8);
        var start = 0;
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            string? escape = c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u2028' => "\\u2028",
                '\u2029' => "\\u2029",
                < ' ' => $"\\u{(int)c:x4}",
                _ => null,
            };
            if (escape is null)
            {
                continue;
            }

            WriteUtf8(buffer, value.AsSpan(start, i - start));
            WriteUtf8(buffer, escape);
            start = i + 1;
        }

        WriteUtf8(buffer, value.AsSpan(start));
        buffer.Write("\""u8);
    }

    private static void WriteUtf8(ArrayBufferWriter<byte> buffer, ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return;
        }

        var span = buffer.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        buffer.Advance(Encoding.UTF8.GetBytes(text, span));
    }
}
