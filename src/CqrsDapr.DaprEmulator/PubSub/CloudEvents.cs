using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace CqrsDapr.DaprEmulator.PubSub;

/// <summary>
/// Builds the CloudEvents 1.0 envelope exactly as daprd 1.16 does (<c>pkg/runtime/pubsub/cloudevents.go</c> →
/// components-contrib <c>pubsub/envelope.go</c>). The envelope is a Go map marshalled by <c>encoding/json</c>, so its
/// keys come out in sorted order; subscribers receive these exact bytes.
/// </summary>
internal static class CloudEvents
{
    public const string DefaultType = "com.dapr.event.sent";
    public const string ContentType = "application/cloudevents+json";

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static bool IsJsonContentType(string contentType)
    {
        var media = MediaType(contentType);
        return media.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || media.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
    }

    public static bool IsBinaryContentType(string contentType)
    {
        var media = MediaType(contentType);
        return media.Equals("application/octet-stream", StringComparison.OrdinalIgnoreCase)
            || media.EndsWith("protobuf", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Publish metadata lookup, case-insensitive as daprd's <c>mapstructure.WeakDecode</c>.</summary>
    public static string? Meta(IReadOnlyDictionary<string, string> metadata, string key)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        if (metadata.TryGetValue(key, out var v))
        {
            return v;
        }

        foreach (var kv in metadata)
        {
            if (string.Equals(kv.Key, key, StringComparison.OrdinalIgnoreCase))
            {
                return kv.Value;
            }
        }

        return null;
    }

    public static bool IsRawPayload(IReadOnlyDictionary<string, string> metadata) =>
        string.Equals(Meta(metadata, "rawPayload"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>A fresh W3C traceparent, for publishes that arrive without one.</summary>
    public static string NewTraceParent()
    {
        Span<byte> bytes = stackalloc byte[24];
        RandomNumberGenerator.Fill(bytes);
        return string.Create(CultureInfo.InvariantCulture, $"00-{Convert.ToHexStringLower(bytes[..16])}-{Convert.ToHexStringLower(bytes[16..])}-01");
    }

    /// <summary>Envelope for a publish whose payload is not already a CloudEvent.</summary>
    public static byte[] NewEnvelope(
        string appId,
        string pubsubName,
        string topic,
        ReadOnlySpan<byte> data,
        string? dataContentType,
        IReadOnlyDictionary<string, string> metadata,
        string traceParent,
        string traceState,
        bool addExpiration)
    {
        var contentType = string.IsNullOrEmpty(dataContentType) ? "text/plain" : dataContentType;
        var fields = new SortedDictionary<string, Action<Utf8JsonWriter>>(StringComparer.Ordinal);
        var traceOverride = Meta(metadata, "cloudevent.traceparent") ?? Meta(metadata, "cloudevent.traceid");
        var trace = traceOverride ?? traceParent;
        fields["id"] = w => w.WriteStringValue(Meta(metadata, "cloudevent.id") ?? Guid.NewGuid().ToString());
        var source = Meta(metadata, "cloudevent.source") ?? appId;
        fields["source"] = w => w.WriteStringValue(string.IsNullOrEmpty(source) ? "Dapr" : source);
        fields["type"] = w => w.WriteStringValue(Meta(metadata, "cloudevent.type") ?? DefaultType);
        fields["specversion"] = w => w.WriteStringValue("1.0");
        fields["datacontenttype"] = w => w.WriteStringValue(contentType);
        fields["topic"] = w => w.WriteStringValue(topic);
        fields["pubsubname"] = w => w.WriteStringValue(pubsubName);
        fields["traceid"] = w => w.WriteStringValue(trace);
        fields["traceparent"] = w => w.WriteStringValue(trace);
        fields["tracestate"] = w => w.WriteStringValue(Meta(metadata, "cloudevent.tracestate") ?? traceState);
        fields["time"] = w => w.WriteStringValue(Rfc3339Now());
        if (addExpiration && Meta(metadata, "ttlInSeconds") is { } ttlText
            && int.TryParse(ttlText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ttl) && ttl > 0)
        {
            fields["expiration"] = w => w.WriteStringValue(DateTimeOffset.UtcNow.AddSeconds(ttl).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        }

        var copy = data.ToArray();
        if (IsJsonContentType(contentType))
        {
            fields["data"] = IsValidJson(copy) ? w => w.WriteRawValue(copy, skipInputValidation: true) : w => w.WriteStringValue(Encoding.UTF8.GetString(copy));
        }
        else if (IsBinaryContentType(contentType))
        {
            fields["data_base64"] = w => w.WriteBase64StringValue(copy);
        }
        else
        {
            fields["data"] = w => w.WriteStringValue(Encoding.UTF8.GetString(copy));
        }

        return Write(fields);
    }

    /// <summary>
    /// Publish with content type <c>application/cloudevents+json</c>: daprd keeps the caller's event and only fills in
    /// topic and pubsubname (always), time, trace fields, source, type and specversion when missing.
    /// </summary>
    public static byte[] FromCloudEvent(string pubsubName, string topic, ReadOnlySpan<byte> cloudEvent, string traceParent, string traceState)
    {
        using var doc = JsonDocument.Parse(cloudEvent.ToArray());
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("cloud event must be a JSON object");
        }

        var fields = new SortedDictionary<string, Action<Utf8JsonWriter>>(StringComparer.Ordinal);
        foreach (var property in doc.RootElement.EnumerateObject())
        {
            var value = property.Value.Clone();
            fields[property.Name] = w => value.WriteTo(w);
        }

        fields["topic"] = w => w.WriteStringValue(topic);
        fields["pubsubname"] = w => w.WriteStringValue(pubsubName);
        fields.TryAdd("time", w => w.WriteStringValue(Rfc3339Now()));
        if (!doc.RootElement.TryGetProperty("traceid", out _))
        {
            fields["traceid"] = w => w.WriteStringValue(traceParent);
            fields["traceparent"] = w => w.WriteStringValue(traceParent);
        }

        fields.TryAdd("tracestate", w => w.WriteStringValue(traceState));
        fields.TryAdd("source", w => w.WriteStringValue("Dapr"));
        fields.TryAdd("type", w => w.WriteStringValue(DefaultType));
        fields.TryAdd("specversion", w => w.WriteStringValue("1.0"));
        return Write(fields);
    }

    /// <summary>Envelope daprd synthesizes for a raw-payload subscription (<c>FromRawPayload</c>).</summary>
    public static byte[] FromRawPayload(string pubsubName, string topic, ReadOnlySpan<byte> data, string? traceParent, string? traceState)
    {
        var copy = data.ToArray();
        var fields = new SortedDictionary<string, Action<Utf8JsonWriter>>(StringComparer.Ordinal)
        {
            ["id"] = w => w.WriteStringValue(Guid.NewGuid().ToString()),
            ["specversion"] = w => w.WriteStringValue("1.0"),
            ["datacontenttype"] = w => w.WriteStringValue("application/octet-stream"),
            ["source"] = w => w.WriteStringValue("Dapr"),
            ["type"] = w => w.WriteStringValue(DefaultType),
            ["topic"] = w => w.WriteStringValue(topic),
            ["pubsubname"] = w => w.WriteStringValue(pubsubName),
            ["data_base64"] = w => w.WriteBase64StringValue(copy),
        };
        if (!string.IsNullOrEmpty(traceParent))
        {
            fields["traceid"] = w => w.WriteStringValue(traceParent);
            fields["traceparent"] = w => w.WriteStringValue(traceParent);
        }

        if (!string.IsNullOrEmpty(traceState))
        {
            fields["tracestate"] = w => w.WriteStringValue(traceState);
        }

        return Write(fields);
    }

    private static byte[] Write(SortedDictionary<string, Action<Utf8JsonWriter>> fields)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            foreach (var (name, write) in fields)
            {
                writer.WritePropertyName(name);
                write(writer);
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static bool IsValidJson(byte[] data)
    {
        if (data.Length == 0)
        {
            return false;
        }

        var reader = new Utf8JsonReader(data);
        try
        {
            return reader.Read() && reader.TrySkip() && !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string Rfc3339Now()
    {
        var now = DateTimeOffset.Now;
        now = new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), now.Offset);
        return now.Offset == TimeSpan.Zero
            ? now.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)
            : now.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);
    }

    private static string MediaType(string contentType)
    {
        var semicolon = contentType.IndexOf(';', StringComparison.Ordinal);
        return (semicolon < 0 ? contentType : contentType[..semicolon]).Trim();
    }
}
