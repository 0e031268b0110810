using System.Text;
using CqrsDapr.Contracts;
using CqrsDapr.QueryService.DeadLetters;
using CqrsDapr.QueryService.Projection;
using CqrsDapr.QueryService.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static CqrsDapr.QueryService.Tests.Infrastructure.ProductEvents;

namespace CqrsDapr.QueryService.Tests.DeadLetters;

/// <summary>The dead-letter subscription endpoint and store, on the real view store.</summary>
public sealed class DeadLetterStoreTests(QueryServiceHost host) : IClassFixture<QueryServiceHost>
{
    [Fact]
    public async Task A_redelivered_dead_letter_is_stored_once_and_keeps_its_first_arrival()
    {
        var poison = Created(Guid.NewGuid()) with { EventType = "ProductRecalled" };

        var first = await DeliverDeadLetterAsync(Json(poison));
        var listed = await ListedAsync(poison.EventId);
        var second = await DeliverDeadLetterAsync(Json(poison));

        Assert.Equal("""{"status":"SUCCESS"}""", first);
        Assert.Equal("""{"status":"SUCCESS"}""", second);
        var after = await host.Services.GetRequiredService<IDeadLetterStore>().ListAsync(1000, TestContext.Current.CancellationToken);
        var stored = Assert.Single(after, d => d.Id == poison.EventId.ToString("D"));
        Assert.Equal(listed.ReceivedAt, stored.ReceivedAt);
        Assert.Contains("unknown eventType 'ProductRecalled'", stored.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_internal_list_shows_dead_letters_as_json()
    {
        var poison = Updated(Guid.NewGuid(), 3, "X") with { SchemaVersion = 5 };
        await DeliverDeadLetterAsync(Json(poison));

        var list = await host.Client.GetStringAsync(new Uri(ProjectionModule.DeadLettersRoute, UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Contains(poison.EventId.ToString("D"), list, StringComparison.Ordinal);
        Assert.Contains("\"viewType\":\"deadletter\"", list, StringComparison.Ordinal);
    }

    /// <summary>Posts to the dead-letter route as daprd does: a CloudEvent whose data is the original message's data.</summary>
    private async Task<string> DeliverDeadLetterAsync(byte[] data)
    {
        var cloudEvent = $$"""{"id":"{{Guid.NewGuid()}}","specversion":"1.0","source":"command-service","type":"com.dapr.event.sent","topic":"{{Topics.DeadLetterOf(Topics.Products)}}","pubsubname":"{{DaprNames.PubSub}}","datacontenttype":"application/json","data":{{Encoding.UTF8.GetString(data)}}}""";
        using var content = new StringContent(cloudEvent, Encoding.UTF8, "application/cloudevents+json");
        using var response = await host.Client.PostAsync(new Uri(ProjectionModule.ProductsDeadLetterRoute, UriKind.Relative), content, TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
    }

    private async Task<DeadLetter> ListedAsync(Guid eventId)
    {
        var all = await host.Services.GetRequiredService<IDeadLetterStore>().ListAsync(1000, TestContext.Current.CancellationToken);
        return Assert.Single(all, d => d.Id == eventId.ToString("D"));
    }
}
