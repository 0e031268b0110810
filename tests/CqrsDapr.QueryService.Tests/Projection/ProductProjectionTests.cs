using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CqrsDapr.Contracts;
using CqrsDapr.QueryService.Products;
using CqrsDapr.QueryService.Projection;
using CqrsDapr.QueryService.Tests.Infrastructure;
using CqrsDapr.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using static CqrsDapr.QueryService.Tests.Infrastructure.ProductEvents;

namespace CqrsDapr.QueryService.Tests.Projection;

/// <summary>Events published through a real sidecar and Redis reach the views in PostgreSQL, whatever the broker does.</summary>
public sealed class ProductProjectionTests(QueryServiceHost host) : IClassFixture<QueryServiceHost>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_published_event_becomes_a_view()
    {
        var id = Guid.NewGuid();
        await host.PublishAsync(Created(id, name: "Reading Lamp", price: 19.99m, stock: 4));

        var view = await host.ViewAtVersionAsync(id, 1, Patience);

        Assert.NotNull(view);
        Assert.Equal(("Reading Lamp", 19.99m, 4, false), (view.Name, view.Price.Amount, view.Stock, view.Deleted));
    }

    [Fact]
    public async Task Duplicates_and_out_of_order_deliveries_for_many_products_end_in_the_expected_views()
    {
        var random = new Random(20261127);
        var streams = Enumerable.Range(0, 60).Select(i => Stream(Guid.NewGuid(), i)).ToList();
        var deliveries = streams.SelectMany(s => s).SelectMany(e => random.Next(3) == 0 ? new[] { e, e } : [e]).ToArray();
        random.Shuffle(deliveries);

        await Task.WhenAll(deliveries.Select(e => host.PublishAsync(e)));

        var actual = new List<ProductView?>();
        foreach (var stream in streams)
        {
            actual.Add(await host.ViewAtVersionAsync(Guid.Parse(stream[^1].AggregateId), stream[^1].AggregateVersion, Patience));
        }

        var expected = streams.Select(Expected).ToList();
        var actualLines = Lines(actual).ToList();
        Assert.True(Hash(expected) == Hash(actualLines), "views differ:\n" + string.Join('\n', expected.Except(actualLines).Select(e => "expected " + e).Concat(actualLines.Except(expected).Select(a => "actual   " + a))));
    }

    [Fact]
    public async Task A_poison_event_is_kept_as_a_dead_letter_and_events_after_it_are_still_applied()
    {
        var poisoned = Guid.NewGuid();
        var poison = Created(poisoned) with { SchemaVersion = 99 };
        await host.PublishAsync(poison);
        var others = Enumerable.Range(0, 5).Select(_ => Guid.NewGuid()).ToList();
        await Task.WhenAll(others.Select(id => host.PublishAsync(Created(id))));

        foreach (var id in others)
        {
            Assert.NotNull(await host.ViewAtVersionAsync(id, 1, Patience));
        }

        var deadLetter = await DeadLetterAsync(poison.EventId);
        Assert.Contains("schemaVersion 99", deadLetter, StringComparison.Ordinal);
        Assert.Contains(poisoned.ToString("D"), deadLetter, StringComparison.Ordinal);
        Assert.Null(await host.Store.GetAsync(poisoned, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Concurrent_writers_on_one_view_never_lose_an_update()
    {
        var id = Guid.NewGuid();
        var events = Enumerable.Range(1, 24)
            .Select(v => v == 1 ? Created(id, stock: 1) : StockAdjusted(id, v, stock: v))
            .SelectMany(e => new[] { e, e, e })
            .ToArray();
        new Random(7).Shuffle(events);
        var projection = host.Services.GetRequiredService<ProductProjection>();

        // Every event by its own writer at once; a RETRY answer is redelivered, as Dapr would.
        await Task.WhenAll(events.Select(e => Task.Run(async () =>
        {
            while (await projection.ProjectAsync(e, TestContext.Current.CancellationToken) == ProjectionOutcome.Retry)
            {
            }
        })));

        var view = (await host.Store.GetAsync(id, TestContext.Current.CancellationToken))?.View;
        Assert.NotNull(view);
        Assert.Equal((24L, 24, Start.AddMinutes(1)), (view.Version, view.Stock, view.CreatedAt));
    }

    [Fact]
    public async Task A_delivery_that_is_not_an_envelope_is_answered_with_drop()
    {
        using var content = new StringContent("""{"hello":"world"}""", Encoding.UTF8, "application/json");
        using var response = await host.Client.PostAsync(new Uri(ProjectionModule.ProductsRoute, UriKind.Relative), content, TestContext.Current.CancellationToken);

        Assert.Equal("""{"status":"DROP"}""", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task The_largest_price_the_write_side_accepts_reaches_the_view_exactly_through_bulk_delivery()
    {
        // Bulk delivery re-encodes numbers as float64, as daprd does: 15 significant digits (the write side's limit)
        // survive; 9,999,999,999,999.9999 would arrive as 10,000,000,000,000.
        var id = Guid.NewGuid();
        await host.PublishAsync(Created(id, price: 99_999_999_999.9999m));

        var view = await host.ViewAtVersionAsync(id, 1, Patience);

        Assert.Equal(99_999_999_999.9999m, view?.Price.Amount);
    }

    [Fact]
    public async Task The_products_topic_is_bulk_subscribed_with_its_dead_letter_topic()
    {
        using var subscriptions = JsonDocument.Parse(await host.Client.GetStringAsync(new Uri("/dapr/subscribe", UriKind.Relative), TestContext.Current.CancellationToken));
        var products = subscriptions.RootElement.EnumerateArray().Single(s => s.GetProperty("topic").GetString() == Topics.Products);

        Assert.Equal(ProjectionModule.ProductsBulkRoute.TrimStart('/'), products.GetProperty("route").GetString()); // the SDK lists routes without the slash
        Assert.Equal(Topics.DeadLetterOf(Topics.Products), products.GetProperty("deadLetterTopic").GetString());
        Assert.True(products.GetProperty("bulkSubscribe").GetProperty("enabled").GetBoolean());
        Assert.Equal(500, products.GetProperty("bulkSubscribe").GetProperty("maxMessagesCount").GetInt32());
    }

    [Fact]
    public async Task The_subscription_resources_in_components_declare_what_the_app_announces()
    {
        using var announced = JsonDocument.Parse(await host.Client.GetStringAsync(new Uri("/dapr/subscribe", UriKind.Relative), TestContext.Current.CancellationToken));
        var yaml = new YamlDotNet.RepresentationModel.YamlStream();
        using (var reader = new StreamReader(Path.Combine(RepositoryPaths.Root, "components", "subscriptions.yaml")))
        {
            yaml.Load(reader);
        }

        var declared = yaml.Documents.Select(d => (YamlDotNet.RepresentationModel.YamlMappingNode)d.RootNode).ToList();
        Assert.Equal(announced.RootElement.GetArrayLength(), declared.Count);
        foreach (var resource in declared)
        {
            Assert.Equal("Subscription", Yaml(resource, "kind"));
            Assert.Equal([DaprNames.QueryService], ((YamlDotNet.RepresentationModel.YamlSequenceNode)resource["scopes"]).Children.Select(c => c.ToString()));
            var spec = (YamlDotNet.RepresentationModel.YamlMappingNode)resource["spec"];
            var app = announced.RootElement.EnumerateArray().Single(s => s.GetProperty("topic").GetString() == Yaml(spec, "topic"));
            Assert.Equal(app.GetProperty("pubsubName").GetString(), Yaml(spec, "pubsubname"));
            Assert.Equal("/" + app.GetProperty("route").GetString(), Yaml(spec["routes"], "default"));
            Assert.Equal(app.TryGetProperty("deadLetterTopic", out var deadLetter) ? deadLetter.GetString() : null, Yaml(spec, "deadLetterTopic"));
            var bulk = app.TryGetProperty("bulkSubscribe", out var b) ? b : default;
            Assert.Equal(bulk.ValueKind == JsonValueKind.Object, Yaml(spec.Children.TryGetValue(new YamlDotNet.RepresentationModel.YamlScalarNode("bulkSubscribe"), out var bs) ? bs : null, "enabled") == "true");
            if (bulk.ValueKind == JsonValueKind.Object)
            {
                Assert.Equal(bulk.GetProperty("maxMessagesCount").GetInt32().ToString(CultureInfo.InvariantCulture), Yaml(bs, "maxMessagesCount"));
                Assert.Equal(bulk.GetProperty("maxAwaitDurationMs").GetInt32().ToString(CultureInfo.InvariantCulture), Yaml(bs, "maxAwaitDurationMs"));
            }
        }
    }

    private static string? Yaml(YamlDotNet.RepresentationModel.YamlNode? node, string key) =>
        node is YamlDotNet.RepresentationModel.YamlMappingNode map && map.Children.TryGetValue(new YamlDotNet.RepresentationModel.YamlScalarNode(key), out var value)
            ? (value as YamlDotNet.RepresentationModel.YamlScalarNode)?.Value
            : null;

    [Fact]
    public async Task A_bulk_delivery_is_answered_per_entry_and_its_readable_events_are_applied()
    {
        var id = Guid.NewGuid();
        var created = Created(id, name: "Bulk");
        var updated = Updated(id, 2, "Bulk, renamed");
        var body = new
        {
            id = Guid.NewGuid().ToString(),
            type = "com.dapr.event.sent.bulk",
            topic = Topics.Products,
            pubsubname = DaprNames.PubSub,
            metadata = new Dictionary<string, string>(),
            entries = new object[]
            {
                new { entryId = "a", contentType = "application/cloudevents+json", @event = new { id = "1", specversion = "1.0", type = "com.dapr.event.sent", datacontenttype = "application/json", data = JsonSerializer.SerializeToElement(created, ContractsJson.Default.EventEnvelope) } },
                new { entryId = "b", contentType = "application/json", @event = JsonSerializer.SerializeToElement(updated, ContractsJson.Default.EventEnvelope) },
                new { entryId = "c", contentType = "application/cloudevents+json", @event = new { id = "3", specversion = "1.0", data = new { hello = "world" } } },
                new { entryId = "d", contentType = "application/cloudevents+json", @event = new { id = "4", specversion = "1.0", data = JsonSerializer.SerializeToElement(Created(Guid.NewGuid()) with { SchemaVersion = 9 }, ContractsJson.Default.EventEnvelope) } },
            },
        };

        using var response = await host.Client.PostAsJsonAsync(new Uri(ProjectionModule.ProductsBulkRoute, UriKind.Relative), body, TestContext.Current.CancellationToken);
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));

        var statuses = answer.RootElement.GetProperty("statuses").EnumerateArray()
            .ToDictionary(e => e.GetProperty("entryId").GetString()!, e => e.GetProperty("status").GetString());
        Assert.Equal(new Dictionary<string, string?> { ["a"] = "SUCCESS", ["b"] = "SUCCESS", ["c"] = "DROP", ["d"] = "DROP" }, statuses);
        var view = (await host.Store.GetAsync(id, TestContext.Current.CancellationToken))?.View;
        Assert.Equal(("Bulk, renamed", 2L), (view?.Name, view?.Version));
    }

    /// <summary>Created, two changes, and for every third product a delete; versions with a gap now and then.</summary>
    private static EventEnvelope[] Stream(Guid id, int i)
    {
        var gap = i % 4 == 0 ? 2 : 0;
        List<EventEnvelope> stream = [Created(id, name: $"P{i}"), Updated(id, 2, $"P{i}-renamed", price: i + 0.5m), StockAdjusted(id, 3 + gap, stock: i, name: $"P{i}-renamed", price: i + 0.5m)];
        if (i % 3 == 0)
        {
            stream.Add(Deleted(id, 4 + gap));
        }

        return [.. stream];
    }

    /// <summary>What a stream must leave, worked out from the stream itself rather than by the projector.</summary>
    private static string Expected(EventEnvelope[] stream)
    {
        var last = stream[^1];
        if (last.EventType == "ProductDeleted")
        {
            return $"{last.AggregateId}|{last.AggregateVersion}|deleted";
        }

        var product = last.DataAs<CqrsDapr.Contracts.Products.ProductStockAdjusted>().Product;
        return $"{last.AggregateId}|{last.AggregateVersion}|{product.Name}|{product.Price.Amount}|{product.Price.Currency}|{product.Stock}|{stream[0].OccurredAt:O}|{last.OccurredAt:O}";
    }

    private static string Hash(IEnumerable<string> views) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', views.Order(StringComparer.Ordinal)))));

    private static IEnumerable<string> Lines(IEnumerable<ProductView?> views) =>
        views.Select(v => v is null ? "missing" : v.Deleted
            ? $"{v.Id:D}|{v.Version}|deleted"
            : $"{v.Id:D}|{v.Version}|{v.Name}|{v.Price.Amount}|{v.Price.Currency}|{v.Stock}|{v.CreatedAt:O}|{v.UpdatedAt:O}");

    /// <summary>Dead letters have no in-process signal: polls the internal list, bounded.</summary>
    private async Task<string> DeadLetterAsync(Guid eventId)
    {
        var deadline = DateTime.UtcNow + Patience;
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            last = await host.Client.GetStringAsync(new Uri(ProjectionModule.DeadLettersRoute, UriKind.Relative), TestContext.Current.CancellationToken);
            if (last.Contains(eventId.ToString("D"), StringComparison.Ordinal))
            {
                return last;
            }

            await Task.Delay(200, TestContext.Current.CancellationToken);
        }

        throw new TimeoutException($"No dead letter for {eventId}. Last list: {last}\n{host.Sidecar.LogTail()}");
    }
}
