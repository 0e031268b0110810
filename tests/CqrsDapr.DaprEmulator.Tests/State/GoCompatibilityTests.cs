using System.Text;
using System.Text.Json;
using CqrsDapr.DaprEmulator.State;
using Npgsql;

namespace CqrsDapr.DaprEmulator.Tests.State;

/// <summary>
/// The pieces of Go behaviour the PostgreSQL store reproduces: how Go prints decoded JSON values (query operands), how
/// float64 re-encoding changes stored numbers, and how pgx reads connection strings.
/// </summary>
public sealed class GoCompatibilityTests
{
    [Theory]
    [InlineData("9", "9")]
    [InlineData("123456", "123456")]
    [InlineData("1000000", "1e+06")]
    [InlineData("1234567", "1.234567e+06")]
    [InlineData("0.0001", "0.0001")]
    [InlineData("0.00001", "1e-05")]
    [InlineData("1.50", "1.5")]
    [InlineData("-0", "-0")]
    [InlineData("\"text\"", "text")]
    [InlineData("true", "true")]
    [InlineData("null", "<nil>")]
    [InlineData("[1, \"a\", 2.5]", "[1 a 2.5]")]
    [InlineData("{\"b\": 1, \"a\": [true]}", "map[a:[true] b:1]")]
    public void Operands_print_as_go_fmt_v_prints_the_decoded_value(string json, string printed)
    {
        using var doc = JsonDocument.Parse(json);

        Assert.Equal(printed, GoFormat.Value(doc.RootElement));
    }

    [Theory]
    [InlineData(1e21, "1e+21")]
    [InlineData(123456789012345678.0, "123456789012345680")]
    [InlineData(0.000001, "0.000001")]
    [InlineData(0.0000001, "1e-7")]
    [InlineData(-2.5e-10, "-2.5e-10")]
    [InlineData(0.0, "0")]
    public void Floats_encode_as_encoding_json_writes_a_float64(double value, string json)
    {
        Assert.Equal(json, GoFormat.JsonFloat(value));
    }

    [Fact]
    public void Structured_values_keep_their_bytes_unless_a_number_changes_through_float64()
    {
        var untouched = Encoding.UTF8.GetBytes("{\"a\": 12, \"b\": \"1.50\", \"c\": [1, -3]}");
        var changed = Encoding.UTF8.GetBytes("{\"a\": 1.50, \"b\": \"1.50\", \"c\": [1e2, 12345678901234567890]}");

        Assert.Same(untouched, GetArray(GoFormat.ThroughFloat64(untouched)));
        Assert.Equal("{\"a\": 1.5, \"b\": \"1.50\", \"c\": [100, 12345678901234567000]}", Encoding.UTF8.GetString(GoFormat.ThroughFloat64(changed).Span));
    }

    [Fact]
    public void Keyword_value_connection_strings_map_to_npgsql_settings()
    {
        var parsed = PgxConnectionString.Parse("host=db.local port=6543 user=dapr password='p a\\'ss' dbname=state sslmode=require connect_timeout=7 pool_max_conns=9 search_path=app statement_timeout=5000");

        Assert.Equal("db.local", parsed.Npgsql.Host);
        Assert.Equal(6543, parsed.Npgsql.Port);
        Assert.Equal("dapr", parsed.Npgsql.Username);
        Assert.Equal("p a'ss", parsed.Npgsql.Password);
        Assert.Equal("state", parsed.Npgsql.Database);
        Assert.Equal(SslMode.Require, parsed.Npgsql.SslMode);
        Assert.Equal(7, parsed.Npgsql.Timeout);
        Assert.Equal(9, parsed.MaxConns);
        Assert.Equal("app", parsed.Npgsql.SearchPath);
        Assert.Equal("-c statement_timeout=5000", parsed.Npgsql.Options);
    }

    [Fact]
    public void Url_connection_strings_map_to_npgsql_settings()
    {
        var parsed = PgxConnectionString.Parse("postgresql://dapr:s%40cret@h1:5433,h2:5434/orders?sslmode=disable&application_name=svc");

        Assert.Equal("h1:5433,h2:5434", parsed.Npgsql.Host);
        Assert.Equal("dapr", parsed.Npgsql.Username);
        Assert.Equal("s@cret", parsed.Npgsql.Password);
        Assert.Equal("orders", parsed.Npgsql.Database);
        Assert.Equal(SslMode.Disable, parsed.Npgsql.SslMode);
        Assert.Equal("svc", parsed.Npgsql.ApplicationName);
    }

    [Theory]
    [InlineData("host=localhost port=notaport")]
    [InlineData("host=localhost password='unterminated")]
    [InlineData("host=localhost sslmode=sometimes")]
    [InlineData("justtext")]
    public void Connection_strings_pgx_refuses_are_refused(string connectionString)
    {
        Assert.Throws<FormatException>(() => PgxConnectionString.Parse(connectionString));
    }

    private static byte[]? GetArray(ReadOnlyMemory<byte> memory) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(memory, out var segment) ? segment.Array : null;
}
