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
/// Parsing follows components-contrib v1.16's <c>Query.UnmarshalJSON</c>: a missing, null or empty filter matches
/// everything, each filter object has exactly one key, AND/OR need at least two operands, IN needs an array.
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
            throw new StateQueryException(ex.Message);
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
                // encoding/json matches field names case-insensitively.
                switch (property.Name.ToLowerInvariant())
                {
                    case "filter":
                        // Go decodes "filter" into a map: null or {} means no filter at all.
                        if (property.Value.ValueKind == JsonValueKind.Null)
                        {
                            break;
                        }

                        if (property.Value.ValueKind != JsonValueKind.Object)
                        {
                            throw new StateQueryException($"json: cannot unmarshal {GoKind(property.Value)} into Go struct field QueryFields.filter of type map[string]interface {{}}");
                        }

                        filter = property.Value.EnumerateObject().Any() ? ParseFilter(property.Value) : null;
                        break;
                    case "sort":
                        if (property.Value.ValueKind != JsonValueKind.Array)
                        {
                            throw new StateQueryException("\"sort\" must be an array");
                        }

                        foreach (var s in property.Value.EnumerateArray())
                        {
                            if (s.ValueKind != JsonValueKind.Object)
                            {
                                throw new StateQueryException($"json: cannot unmarshal {GoKind(s)} into Go value of type query.Sorting");
                            }

                            var key = s.TryGetProperty("key", out var k) ? StringField(k, "key") : "";
                            var order = s.TryGetProperty("order", out var o) ? StringField(o, "order") : "";

                            // Stores splice the order into their native query; SQL accepts either case, anything else fails there.
                            if (!(order.Length == 0 || order.Equals("ASC", StringComparison.OrdinalIgnoreCase) || order.Equals("DESC", StringComparison.OrdinalIgnoreCase)))
                            {
                                throw new StateQueryException($"invalid sort order '{order}'");
                            }

                            sort.Add(new QuerySort(key, order.Equals("DESC", StringComparison.OrdinalIgnoreCase)));
                        }

                        break;
                    case "page":
                        if (property.Value.ValueKind != JsonValueKind.Object)
                        {
                            throw new StateQueryException("\"page\" must be a map");
                        }

                        if (property.Value.TryGetProperty("limit", out var l) && l.ValueKind != JsonValueKind.Null)
                        {
                            limit = l.ValueKind == JsonValueKind.Number && l.TryGetInt32(out var n)
                                ? n
                                : throw new StateQueryException($"json: cannot unmarshal {l.GetRawText()} into Go struct field Pagination.limit of type int");
                        }

                        if (property.Value.TryGetProperty("token", out var t) && t.ValueKind != JsonValueKind.Null)
                        {
                            token = StringField(t, "token");
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

    // Messages follow components-contrib v1.16 state/query/filter.go.
    private static QueryFilter ParseFilter(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new StateQueryException("filter unit must be a map");
        }

        var props = element.EnumerateObject().ToList();
        if (props.Count != 1)
        {
            throw new StateQueryException("filter unit must have a single element");
        }

        var (op, value) = (props[0].Name, props[0].Value);
        switch (op)
        {
            case "AND":
            case "OR":
                if (value.ValueKind != JsonValueKind.Array)
                {
                    throw new StateQueryException($"{op} filter must be an array");
                }

                if (value.GetArrayLength() < 2)
                {
                    throw new StateQueryException($"{op} filter must contain at least two entries");
                }

                var children = value.EnumerateArray().Select(ParseFilter).ToList();
                return op == "AND" ? new AndFilter(children) : new OrFilter(children);
            case "IN":
                {
                    var (path, operand) = SingleField(op, value);
                    // An empty list parses; stores decide (postgres: "empty IN operator").
                    if (operand.ValueKind != JsonValueKind.Array)
                    {
                        throw new StateQueryException("IN filter value must be an array");
                    }

                    return new InFilter(path, operand.EnumerateArray().Select(e => e.Clone()).ToList());
                }

            default:
                if (!Comparisons.Contains(op))
                {
                    throw new StateQueryException($"unsupported filter \"{op}\"");
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
            throw new StateQueryException($"{op} filter must be a map");
        }

        var fields = value.EnumerateObject().ToList();
        if (fields.Count != 1)
        {
            throw new StateQueryException($"{op} filter must contain a single key/value pair");
        }

        return (fields[0].Name, fields[0].Value);
    }

    /// <summary>
    /// Operand as Go's <c>fmt.Sprintf("%v")</c> prints the decoded value (components-contrib binds operands as text):
    /// numbers are float64 in shortest <c>%g</c> form, so 1000000 prints as <c>1e+06</c>.
    /// </summary>
    public static string OperandText(JsonElement value) => GoFormat.Value(value);

    private static string StringField(JsonElement value, string name) =>
        value.ValueKind switch
        {
            JsonValueKind.String => value.GetString()!,
            JsonValueKind.Null => "",
            _ => throw new StateQueryException($"json: cannot unmarshal {GoKind(value)} into Go struct field .{name} of type string"),
        };

    private static string GoKind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Array => "array",
        JsonValueKind.Object => "object",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "bool",
        _ => "null",
    };
}

/// <summary>The query is malformed (daprd: <c>ERR_MALFORMED_REQUEST</c>, gRPC <c>InvalidArgument</c>, HTTP 400).</summary>
internal sealed class StateQueryException(string message) : Exception(message);
