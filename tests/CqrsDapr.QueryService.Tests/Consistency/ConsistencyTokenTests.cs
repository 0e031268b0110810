using CqrsDapr.Contracts;

namespace CqrsDapr.QueryService.Tests.Consistency;

/// <summary>The token a command returns is what a query parses: aggregate, id and version survive the trip.</summary>
public sealed class ConsistencyTokenTests
{
    [Fact]
    public void A_token_from_the_write_side_parses_back_to_its_aggregate_id_and_version()
    {
        var issued = new ConsistencyToken("product", "01a21a58-9daa-7130-a93e-26aa0463e7a6", 42).ToString();

        Assert.True(ConsistencyToken.TryParse(issued, out var parsed));
        Assert.Equal(new ConsistencyToken("product", "01a21a58-9daa-7130-a93e-26aa0463e7a6", 42), parsed);
        Assert.DoesNotContain('=', issued); // base64url without padding: safe in a header as is
    }

    [Theory]
    [InlineData("")]
    [InlineData("not base64 !")]
    [InlineData("djE6cHJvZHVjdA")] // "v1:product": too few parts
    [InlineData("djI6cHJvZHVjdDp4OjE")] // "v2:product:x:1": unknown version
    [InlineData("djE6cHJvZHVjdDp4Oi0x")] // "v1:product:x:-1": negative version
    public void A_malformed_token_is_refused(string text) => Assert.False(ConsistencyToken.TryParse(text, out _));
}
