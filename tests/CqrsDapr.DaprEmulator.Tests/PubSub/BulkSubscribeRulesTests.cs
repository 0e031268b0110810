using System.Buffers;
using System.Text;
using System.Text.Json;
using CqrsDapr.DaprEmulator.PubSub;

namespace CqrsDapr.DaprEmulator.Tests.PubSub;

/// <summary>The bulk subscribe codecs, checked without processes: Go's re-marshalling of events, the app's bulk answer.</summary>
public sealed class BulkSubscribeRulesTests
{
    [Theory]
    [InlineData(1.0, "1")]
    [InlineData(-0.5, "-0.5")]
    [InlineData(123.456, "123.456")]
    [InlineData(1e20, "100000000000000000000")]
    [InlineData(1e21, "1e+21")]
    [InlineData(0.000001, "0.000001")]
    [InlineData(1.5e-7, "1.5e-7")]
    [InlineData(9007199254740993, "9007199254740992")]
    [InlineData(36686123456789, "36686123456789")]
    [InlineData(2, "2")]
    [InlineData(1234567890123456789, "1234567890123456800")]
    public void Numbers_are_written_as_go_writes_a_float64(double value, string expected) =>
        Assert.Equal(expected, GoJsonValue.FormatFloat(value));

    [Fact]
    public void An_event_comes_out_with_sorted_keys_float_numbers_and_go_escaping()
    {
        using var document = JsonDocument.Parse("""{"z":1.0,"a":{"y":"<&>","b":[2.50,null,true]},"a":{"k":"last wins"},"é":"é"}""");
        var buffer = new ArrayBufferWriter<byte>();

        GoJsonValue.Write(buffer, document.RootElement);

        Assert.Equal("""{"a":{"k":"last wins"},"z":1,"é":"é"}""", Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    [Fact]
    public void A_number_beyond_float64_fails_the_entry_as_gos_unmarshal_does()
    {
        using var document = JsonDocument.Parse("""{"data":{"n":1e400}}""");

        Assert.False(GoJsonValue.TryValidate(document.RootElement, out var error));
        Assert.Contains("1e400", error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_bulk_answer_is_read_case_insensitively_with_unknown_keys_ignored()
    {
        var statuses = AppBulkResponse.Read("""{"Statuses":[{"EntryID":"1","status":"SUCCESS","x":1},{"entryId":"2"},null]} trailing"""u8, out var error);

        Assert.Null(error);
        Assert.Equal([("1", "SUCCESS"), ("2", ""), ("", "")], statuses);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("OK")]
    [InlineData("[]")]
    [InlineData("{\"statuses\":{}}")]
    [InlineData("{\"statuses\":[{\"entryId\":1}]}")]
    public void A_2xx_body_that_is_not_a_bulk_answer_fails_every_entry(string body)
    {
        Assert.Null(AppBulkResponse.Read(Encoding.UTF8.GetBytes(body), out var error));
        Assert.NotNull(error);
    }

    [Fact]
    public void A_null_body_or_null_statuses_answers_nothing_so_every_entry_is_retried()
    {
        Assert.Empty(AppBulkResponse.Read("null"u8, out _)!);
        Assert.Empty(AppBulkResponse.Read("""{"statuses":null}"""u8, out _)!);
    }
}
