using System.Buffers.Text;
using System.Text;
using CqrsDapr.QueryService.Views;

namespace CqrsDapr.QueryService.Tests.Views;

/// <summary>The opaque page token: survives the trip, and refuses garbage and a different query.</summary>
public sealed class ProductPageTokenTests
{
    private static readonly ProductQuery Query = new("tools", 1m, 50m, ProductSort.Price, 20, null);

    private static ProductPageToken AToken(ProductQuery query) =>
        new(query.Sort, "00000000000000125000", Guid.Parse("01a21a58-9daa-7130-a93e-26aa0463e7a6"), ProductPageToken.FingerprintOf(query), 41);

    [Fact]
    public void A_token_round_trips_and_continues_the_query_it_was_issued_for()
    {
        var token = AToken(Query);

        var text = token.Encode();

        Assert.True(ProductPageToken.TryDecode(text, out var decoded));
        Assert.Equal(token, decoded);
        Assert.True(decoded.Continues(Query));
        Assert.True(decoded.Continues(Query with { PageSize = 5, PageToken = text }));
        Assert.Matches("^[A-Za-z0-9_-]+$", text);
    }

    [Fact]
    public void A_token_does_not_continue_a_query_with_another_sort_or_other_filters()
    {
        var token = AToken(Query);

        Assert.False(token.Continues(Query with { Sort = ProductSort.PriceDescending }));
        Assert.False(token.Continues(Query with { Category = "toys" }));
        Assert.False(token.Continues(Query with { Category = null }));
        Assert.False(token.Continues(Query with { MinPrice = null }));
        Assert.False(token.Continues(Query with { MaxPrice = 50.01m }));
    }

    [Theory]
    [InlineData("")]
    [InlineData("!!not base64!!")]
    [InlineData("e30")] // {}
    [InlineData("bnVsbA")] // null
    [InlineData("eyJzIjo5OSwiayI6IiIsImkiOiIwMWEyMWE1OC05ZGFhLTcxMzAtYTkzZS0yNmFhMDQ2M2U3YTYiLCJmIjoiIiwibyI6MH0")] // sort 99
    [InlineData("eyJzIjowLCJrIjoiIiwiaSI6IjAxYTIxYTU4LTlkYWEtNzEzMC1hOTNlLTI2YWEwNDYzZTdhNiIsImYiOiIiLCJvIjotMX0")] // hint -1
    public void Garbage_or_edited_tokens_are_refused(string text) => Assert.False(ProductPageToken.TryDecode(text, out _));

    [Fact]
    public void A_truncated_token_is_refused()
    {
        var text = AToken(Query).Encode();

        Assert.False(ProductPageToken.TryDecode(text[..(text.Length / 2)], out _));
    }

    [Fact]
    public void The_test_vectors_above_are_what_they_claim()
    {
        Assert.Equal("{\"s\":99,\"k\":\"\",\"i\":\"01a21a58-9daa-7130-a93e-26aa0463e7a6\",\"f\":\"\",\"o\":0}",
            Encoding.UTF8.GetString(Base64Url.DecodeFromChars("eyJzIjo5OSwiayI6IiIsImkiOiIwMWEyMWE1OC05ZGFhLTcxMzAtYTkzZS0yNmFhMDQ2M2U3YTYiLCJmIjoiIiwibyI6MH0")));
    }
}
