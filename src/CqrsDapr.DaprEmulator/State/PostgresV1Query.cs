using System.Globalization;
using System.Text;
using System.Text.Json;

namespace CqrsDapr.DaprEmulator.State;

/// <summary>
/// Translates a state query into SQL the way components-contrib v1.16 does for <c>state.postgresql</c> v1
/// (<c>common/component/postgresql/v1/postgresql_query.go</c>):
/// <list type="bullet">
/// <item>a dot path <c>a.b</c> becomes <c>value-&gt;'a'-&gt;&gt;'b'</c>, i.e. the leaf is compared and sorted as <b>text</b>;</item>
/// <item>every operand is bound as the text Go's <c>fmt.Sprintf("%v")</c> prints (so <c>GT 9</c> is <c>&gt; '9'</c>,
/// which <c>'10'</c> is not, and <c>EQ 1000000</c> compares with <c>'1e+06'</c>);</item>
/// <item><c>GT</c>/<c>GTE</c>/<c>LT</c>/<c>LTE</c> refuse string operands, <c>IN</c> refuses an empty list;</item>
/// <item>no app-id scoping: <c>SELECT key, value, xmin as etag FROM &lt;table&gt;</c> sees every row of the table,
/// expired rows that were not swept yet included;</item>
/// <item><c>LIMIT</c>/<c>OFFSET</c> paging, where the token is the offset of the next page and is returned whenever a
/// limit is set.</item>
/// </list>
/// Unlike v1, which splices path segments into the SQL text, segments and paging numbers are bound as parameters too;
/// the resulting comparisons are the same.
/// </summary>
internal sealed class PostgresV1Query
{
    private readonly List<object> parameters = [];

    private PostgresV1Query()
    {
    }

    public string Sql { get; private set; } = "";

    /// <summary>Positional parameters: <see cref="string"/> (text) or <see cref="long"/> (bigint).</summary>
    public IReadOnlyList<object> Parameters => parameters;

    /// <summary>The page limit when positive; 0 means no limit and no token.</summary>
    public int Limit { get; private set; }

    public long Skip { get; private set; }

    /// <summary>Throws <see cref="StateQueryException"/> where v1's query builder returns an error.</summary>
    public static PostgresV1Query Build(StateQuery query, string tableName)
    {
        ArgumentNullException.ThrowIfNull(query);
        var q = new PostgresV1Query();
        var sql = new StringBuilder("SELECT key, value, xmin as etag FROM ").Append(tableName);
        if (query.Filter is { } filter)
        {
            sql.Append(" WHERE ");
            q.AppendFilter(sql, filter);
        }

        if (query.Sort.Count > 0)
        {
            sql.Append(" ORDER BY ");
            for (var i = 0; i < query.Sort.Count; i++)
            {
                if (i > 0)
                {
                    sql.Append(", ");
                }

                q.AppendField(sql, query.Sort[i].Key);
                if (query.Sort[i].Descending)
                {
                    sql.Append(" DESC");
                }
            }
        }

        if (query.Limit > 0)
        {
            sql.Append(" LIMIT ").Append(q.Bind((long)query.Limit));
            q.Limit = query.Limit;
        }

        if (!string.IsNullOrEmpty(query.Token))
        {
            if (!long.TryParse(query.Token, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var skip))
            {
                throw new StateQueryException($"strconv.ParseInt: parsing \"{query.Token}\": invalid syntax");
            }

            sql.Append(" OFFSET ").Append(q.Bind(skip));
            q.Skip = skip;
        }

        q.Sql = sql.ToString();
        return q;
    }

    /// <summary>v1's token: the offset after this page, whenever a limit was given (even on an empty page).</summary>
    public string? NextToken(int returned) =>
        Limit != 0 ? (Skip + returned).ToString(CultureInfo.InvariantCulture) : null;

    private void AppendFilter(StringBuilder sql, QueryFilter filter)
    {
        switch (filter)
        {
            case CompareFilter compare:
                {
                    var op = compare.Operator switch
                    {
                        "EQ" => "=",
                        "NEQ" => "!=",
                        "GT" => ">",
                        "GTE" => ">=",
                        "LT" => "<",
                        "LTE" => "<=",
                        _ => throw new StateQueryException($"unsupported filter type {compare.Operator}"),
                    };
                    if (op is not ("=" or "!=") && compare.Value.ValueKind == JsonValueKind.String)
                    {
                        throw new StateQueryException($"unsupported type of value {compare.Value.GetString()}; string type not permitted");
                    }

                    AppendComparison(sql, compare.Path, op, compare.Value);
                    break;
                }

            case InFilter @in:
                if (@in.Values.Count == 0)
                {
                    throw new StateQueryException($"empty IN operator for key {JsonSerializer.Serialize(@in.Path)}");
                }

                sql.Append('(');
                for (var i = 0; i < @in.Values.Count; i++)
                {
                    if (i > 0)
                    {
                        sql.Append(" OR ");
                    }

                    AppendComparison(sql, @in.Path, "=", @in.Values[i]);
                }

                sql.Append(')');
                break;
            case AndFilter and:
                AppendGroup(sql, "AND", and.Filters);
                break;
            case OrFilter or:
                AppendGroup(sql, "OR", or.Filters);
                break;
            default:
                throw new StateQueryException($"unsupported filter type {filter.GetType().Name}");
        }
    }

    private void AppendGroup(StringBuilder sql, string op, IReadOnlyList<QueryFilter> filters)
    {
        sql.Append('(');
        for (var i = 0; i < filters.Count; i++)
        {
            if (i > 0)
            {
                sql.Append(' ').Append(op).Append(' ');
            }

            AppendFilter(sql, filters[i]);
        }

        sql.Append(')');
    }

    private void AppendComparison(StringBuilder sql, string path, string op, JsonElement operand)
    {
        var value = Bind(GoFormat.Value(operand));
        AppendField(sql, path);
        sql.Append(op).Append(value);
    }

    /// <summary><c>translateFieldToFilter</c>: <c>value</c>, then <c>-&gt;</c> per segment and <c>-&gt;&gt;</c> for the last.</summary>
    private void AppendField(StringBuilder sql, string path)
    {
        sql.Append("value");
        var segments = path.Split('.');
        for (var i = 0; i < segments.Length; i++)
        {
            sql.Append(i == segments.Length - 1 ? "->>" : "->").Append(Bind(segments[i]));
        }
    }

    private string Bind(object value)
    {
        parameters.Add(value);
        return "$" + parameters.Count.ToString(CultureInfo.InvariantCulture);
    }
}
