using System.Globalization;
using System.Text.Json;

namespace CqrsDapr.DaprEmulator.State;

/// <summary>A node of the query filter tree (components-contrib <c>state/query</c>, daprd 1.16).</summary>
internal abstract record QueryFilter;

/// <summary><c>EQ</c>, <c>NEQ</c>, <c>GT</c>, <c>GTE</c>, <c>LT</c>, <c>LTE</c> on a dot path into the JSON value.</summary>
internal sealed record CompareFilter(string Operator, string Path, JsonElement Value) : QueryFilter;

internal sealed record InFilter(string Path, IReadOnlyList<JsonElement> Values) : QueryFilter;

internal sealed record AndFilter(IReadOnlyList<QueryFilter> Filters) : QueryFilter;

internal sealed record OrFilter(IReadOnlyList<QueryFilter> Filters) : QueryFilter;

internal sealed record QuerySort(string Key, bool Descending);

/// <summary>
/// The state query language: <c>{"filter": {...}, "sort": [{"key","order"}], "page": {"limit", "token"}}</c>.
/// Parsing follows components-contrib's <c>Query.UnmarshalJSON</c>: each filter object has exactly one key,
/// AND/OR need at least two operands, IN needs a non-empty array.
/// </summary>
internal sealed record StateQuery(QueryFilter? Filter, IReadOnlyList<QuerySort> Sort, int Limit, string? Token)
{
    private static readonly HashSet<string> Comparisons = new(StringComparer.Ordinal) { "EQ", "NEQ", "GT", "GTE", "LT", "LTE" };

    public static StateQuery Parse(ReadOnlySpan<byte> utf8Json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(utf8Json.ToArray());
        }
        catch (JsonException ex)
        {
            throw new StateQueryException($"failed to parse JSON query body: {ex.Message}");
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new StateQueryException("query must be a JSON object");
            }

            QueryFilter? filter = null;
            var sort = new List<QuerySort>();
            var limit = 0;
            string? token = null;
            foreach (var property in root.EnumerateObject())
            {
                switch (property.Name)
                {
                    case "filter":
                        filter = ParseFilter(property.Value);
                        break;
                    case "sort":
                        if (property.Value.ValueKind != JsonValueKind.Array)
                        {
                            throw new StateQueryException("\"sort\" must be an array");
                        }

                        foreach (var s in property.Value.EnumerateArray())
                        {
                            var key = s.TryGetProperty("key", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString()! : throw new StateQueryException("sort entry needs a \"key\"");
                            var order = s.TryGetProperty("order", out var o) ? o.GetString() : null;
                            if (order is not (null or "" or "ASC" or "DESC"))
                            {
                                throw new StateQueryException($"invalid sort order '{order}'");
                            }

                            sort.Add(new QuerySort(key, order == "DESC"));
                        }

                        break;
                    case "page":
                        if (property.Value.TryGetProperty("limit", out var l))
                        {
                            limit = l.GetInt32();
                        }

                        if (property.Value.TryGetProperty("token", out var t) && t.ValueKind == JsonValueKind.String)
                        {
                            token = t.GetString();
                        }

                        break;
                    default:
                        // Go's decoder ignores unknown fields.
                        break;
                }
            }

            return new StateQuery(filter, sort, limit, token);
        }
    }

    private static QueryFilter ParseFilter(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new StateQueryException("filter must be an object");
        }

        var props = element.EnumerateObject().ToList();
        if (props.Count == 0)
        {
            // An empty filter object matches everything.
            return new AndFilter([]);
        }

        if (props.Count != 1)
        {
            throw new StateQueryException("filter must have exactly one element");
        }

        var (op, value) = (props[0].Name, props[0].Value);
        switch (op)
        {
            case "AND":
            case "OR":
                if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() < 2)
                {
                    throw new StateQueryException($"{op} filter must be an array of at least two filters");
                }

                var children = value.EnumerateArray().Select(ParseFilter).ToList();
                return op == "AND" ? new AndFilter(children) : new OrFilter(children);
            case "IN":
                {
                    var (path, operand) = SingleField(op, value);
                    if (operand.ValueKind != JsonValueKind.Array || operand.GetArrayLength() == 0)
                    {
                        throw new StateQueryException("IN filter must have a non-empty array of values");
                    }

                    return new InFilter(path, operand.EnumerateArray().Select(e => e.Clone()).ToList());
                }

            default:
                if (!Comparisons.Contains(op))
                {
                    throw new StateQueryException($"unsupported filter operation '{op}'");
                }

                {
                    var (path, operand) = SingleField(op, value);
                    return new CompareFilter(op, path, operand.Clone());
                }
        }
    }

    private static (string Path, JsonElement Value) SingleField(string op, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new StateQueryException($"{op} filter must be an object");
        }

        var fields = value.EnumerateObject().ToList();
        if (fields.Count != 1)
        {
            throw new StateQueryException($"{op} filter must have exactly one field");
        }

        return (fields[0].Name, fields[0].Value);
    }

    /// <summary>Scalar operand as Go's <c>fmt</c> prints it (components-contrib binds operands as text).</summary>
    public static string OperandText(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Number => value.TryGetInt64(out var i) ? i.ToString(CultureInfo.InvariantCulture) : value.GetDouble().ToString("R", CultureInfo.InvariantCulture),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => value.GetRawText(),
    };
}

/// <summary>The query is malformed (daprd: <c>ERR_MALFORMED_REQUEST</c>, gRPC <c>InvalidArgument</c>, HTTP 400).</summary>
internal sealed class StateQueryException(string message) : Exception(message);
