using System.Text;

namespace CqrsDapr.EndToEnd.Tests.Telemetry;

/// <summary>A span as an exporter sent it: enough to tell which service did what in which trace.</summary>
internal sealed record ReceivedSpan(string Service, string TraceId, string SpanId, string ParentSpanId, string Name, int Kind)
{
    public const int Server = 2;
    public const int Client = 3;
    public const int Producer = 4;
    public const int Consumer = 5;

    public override string ToString() => $"{Service}: {Name} (kind {Kind}, span {SpanId}, parent {ParentSpanId})";
}

/// <summary>
/// Reads the few fields it needs from an OTLP <c>ExportTraceServiceRequest</c> (opentelemetry-proto
/// <c>trace/v1/trace.proto</c>) in protobuf's wire format: resource_spans(1) → resource(1) → attributes(1) →
/// KeyValue{key(1), value(2) → AnyValue{string_value(1)}}; resource_spans → scope_spans(2) → spans(2) →
/// Span{trace_id(1), span_id(2), parent_span_id(4), name(5), kind(6)}. Everything else is skipped.
/// </summary>
internal static class OtlpTraces
{
    public static IEnumerable<ReceivedSpan> Read(byte[] request)
    {
        var spans = new List<ReceivedSpan>();
        foreach (var (field, resourceSpans) in Fields(request))
        {
            if (field != 1)
            {
                continue;
            }

            var service = "";
            var raw = new List<byte[]>();
            foreach (var (f, value) in Fields(resourceSpans))
            {
                if (f == 1)
                {
                    service = ServiceName(value) ?? service;
                }
                else if (f == 2)
                {
                    raw.AddRange(Fields(value).Where(s => s.Field == 2).Select(s => s.Value));
                }
            }

            spans.AddRange(raw.Select(span => ReadSpan(service, span)));
        }

        return spans;
    }

    private static ReceivedSpan ReadSpan(string service, byte[] span)
    {
        string traceId = "", spanId = "", parent = "", name = "";
        var kind = 0;
        foreach (var (field, value) in Fields(span))
        {
            switch (field)
            {
                case 1: traceId = Convert.ToHexStringLower(value); break;
                case 2: spanId = Convert.ToHexStringLower(value); break;
                case 4: parent = Convert.ToHexStringLower(value); break;
                case 5: name = Encoding.UTF8.GetString(value); break;
                case 6: kind = (int)ReadVarint(value, 0).Value; break;
            }
        }

        return new ReceivedSpan(service, traceId, spanId, parent, name, kind);
    }

    private static string? ServiceName(byte[] resource)
    {
        foreach (var (field, keyValue) in Fields(resource))
        {
            if (field != 1)
            {
                continue;
            }

            var pairs = Fields(keyValue).ToList();
            var key = pairs.Where(p => p.Field == 1).Select(p => Encoding.UTF8.GetString(p.Value)).FirstOrDefault();
            if (key == "service.name")
            {
                var anyValue = pairs.Where(p => p.Field == 2).Select(p => p.Value).FirstOrDefault() ?? [];
                return Fields(anyValue).Where(p => p.Field == 1).Select(p => Encoding.UTF8.GetString(p.Value)).FirstOrDefault();
            }
        }

        return null;
    }

    /// <summary>
    /// The fields of a message: length-delimited ones with their bytes, varints as their encoded bytes (read again
    /// with <see cref="ReadVarint"/>), fixed-width ones skipped.
    /// </summary>
    private static IEnumerable<(int Field, byte[] Value)> Fields(byte[] message)
    {
        var position = 0;
        while (position < message.Length)
        {
            var (tag, afterTag) = ReadVarint(message, position);
            position = afterTag;
            var field = (int)(tag >> 3);
            switch (tag & 7)
            {
                case 0:
                    var (_, afterValue) = ReadVarint(message, position);
                    yield return (field, message[position..afterValue]);
                    position = afterValue;
                    break;
                case 1:
                    position += 8;
                    break;
                case 2:
                    var (length, start) = ReadVarint(message, position);
                    position = start + (int)length;
                    yield return (field, message[start..position]);
                    break;
                case 5:
                    position += 4;
                    break;
                default:
                    throw new InvalidDataException($"Unsupported protobuf wire type {tag & 7}.");
            }
        }
    }

    private static (ulong Value, int Next) ReadVarint(byte[] buffer, int position)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = buffer[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return (value, position);
            }
        }
    }
}
