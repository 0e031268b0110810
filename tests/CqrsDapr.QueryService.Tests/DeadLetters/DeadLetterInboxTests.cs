using System.Text;
using CqrsDapr.Contracts;
using CqrsDapr.QueryService.DeadLetters;
using static CqrsDapr.QueryService.Tests.Infrastructure.ProductEvents;

namespace CqrsDapr.QueryService.Tests.DeadLetters;

public sealed class DeadLetterInboxTests
{
    private static readonly DateTimeOffset Now = new(2026, 2, 3, 4, 5, 6, TimeSpan.Zero);

    [Fact]
    public void A_dead_lettered_envelope_is_kept_under_its_event_id_with_the_reason_the_rules_give()
    {
        var poison = Created(Guid.NewGuid()) with { SchemaVersion = 7 };

        var deadLetter = DeadLetterInbox.Describe(Topics.Products, Json(poison), Now);

        Assert.Equal(poison.EventId.ToString("D"), deadLetter.Id);
        Assert.Equal((poison.EventType, poison.AggregateId), (deadLetter.EventType, deadLetter.AggregateId));
        Assert.Contains("schemaVersion 7", deadLetter.Reason, StringComparison.Ordinal);
        Assert.Equal(poison.AggregateId, deadLetter.Data?.GetProperty("aggregateId").GetString());
        Assert.Equal("2026-02-03T04:05:06.0000000Z", deadLetter.ReceivedAtKey);
    }

    [Fact]
    public void Data_that_is_not_json_is_kept_as_text_under_a_hash_of_it()
    {
        var first = DeadLetterInbox.Describe(Topics.Products, Encoding.UTF8.GetBytes("not json"), Now);
        var again = DeadLetterInbox.Describe(Topics.Products, Encoding.UTF8.GetBytes("not json"), Now.AddMinutes(1));

        Assert.StartsWith("sha256-", first.Id, StringComparison.Ordinal);
        Assert.Equal(first.Id, again.Id);
        Assert.Equal("not json", first.RawData);
        Assert.Null(first.Data);
    }

    [Fact]
    public void A_valid_event_that_was_dead_lettered_anyway_has_no_known_reason() =>
        Assert.Null(DeadLetterInbox.Describe(Topics.Products, Json(Created(Guid.NewGuid())), Now).Reason);
}
