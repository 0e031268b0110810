using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CqrsDapr.Contracts;
using CqrsDapr.QueryService.Products;
using CqrsDapr.QueryService.Rebuild;
using CqrsDapr.QueryService.Tests.Infrastructure;
using CqrsDapr.QueryService.Views;
using Microsoft.Extensions.DependencyInjection;
using static CqrsDapr.QueryService.Tests.Infrastructure.ProductEvents;

namespace CqrsDapr.QueryService.Tests.Rebuild;

/// <summary>Rebuilds with the views in the Dapr state store.</summary>
public sealed class ProductRebuildTests(RebuildingQueryServiceHost host) : ProductRebuildContract(host), IClassFixture<RebuildingQueryServiceHost>;

/// <summary>Rebuilds with the views, the generations document and the dead letters in Cosmos DB.</summary>
public sealed class ProductRebuildOnCosmosTests(CosmosRebuildingQueryServiceHost host) : ProductRebuildContract(host), IClassFixture<CosmosRebuildingQueryServiceHost>
{
    [Fact]
    public void The_host_keeps_views_and_the_generations_document_in_cosmos_db()
    {
        Assert.IsType<QueryService.Views.Cosmos.CosmosProductViewStores>(host.Services.GetRequiredService<IProductViewStores>());
        Assert.IsType<QueryService.Views.Cosmos.CosmosGenerationsStore>(host.Services.GetRequiredService<IGenerationsStore>());
        Assert.IsType<QueryService.DeadLetters.CosmosDeadLetterStore>(host.Services.GetRequiredService<QueryService.DeadLetters.IDeadLetterStore>());
    }
}

/// <summary>
/// Rebuilds through the real host and sidecar, reading the event log over Dapr service invocation. The tests of a
/// class run one after another (one host, one generations document), each starting from what the previous left.
/// </summary>
public abstract class ProductRebuildContract(RebuildingQueryServiceHost host)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ViewGenerations Generations => host.Services.GetRequiredService<ViewGenerations>();

    private ProductRebuild Rebuild => host.Services.GetRequiredService<ProductRebuild>();

    [Fact]
    public async Task A_rebuild_produces_views_identical_to_the_live_ones_and_serves_them()
    {
        var streams = Enumerable.Range(0, 40).Select(i => Stream(Guid.NewGuid(), i)).ToList();
        var live = streams.SelectMany(s => s).SelectMany(e => e.AggregateVersion % 2 == 0 ? new[] { e, e } : [e]).ToArray();
        new Random(11).Shuffle(live);
        await Task.WhenAll(live.Select(e => host.PublishAsync(e)));
        await AllFinalAsync(streams);
        host.Log.Append(streams.SelectMany(s => s)); // the log holds each event once, stream by stream
        var before = Generations.Active;
        var liveHash = await HashAsync(before, streams);

        using var started = await host.Client.PostAsync(new Uri(RebuildModule.Route, UriKind.Relative), null, Ct);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        await Rebuild.Running.WaitAsync(Patience, Ct);

        var document = (await Generations.ReadAsync(Ct)).Document;
        Assert.True(document.Active > before.Generation);
        Assert.Equal(document.LastRebuild?.Generation, document.Active);
        Assert.Equal(RebuildStatus.CompletedState, document.LastRebuild?.State);
        Assert.Equal(host.Log.Count, document.LastRebuild?.Events); // this test's events and the earlier tests'
        Assert.Null(document.Building);
        Assert.Null(document.Retiring); // retired after the grace period
        Assert.Equal(document.Active, Generations.Active.Generation);
        Assert.Equal(liveHash, await HashAsync(Generations.Active, streams));
        var retired = host.Services.GetRequiredService<IProductViewStores>().Generation(before.Generation);
        Assert.Empty(await retired.GetManyAsync([.. streams.Select(st => Guid.Parse(st[0].AggregateId))], Ct)); // cleaned up

        // And the API serves the new generation: a deleted product stays 404, a live one answers its last version.
        var kept = streams.First(s => s[^1].EventType != "ProductDeleted");
        using var read = await host.Client.GetAsync(new Uri($"/api/products/{kept[0].AggregateId}", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal($"\"{kept[^1].AggregateVersion}\"", read.Headers.ETag?.Tag);
    }

    [Fact]
    public async Task Reads_never_fail_during_a_rebuild_and_events_published_meanwhile_reach_the_new_generation()
    {
        var id = Guid.NewGuid();
        var created = Created(id, name: "Steady");
        await host.PublishAsync(created);
        Assert.NotNull(await host.ViewAtVersionAsync(id, 1, Patience));
        host.Log.Append([created]);
        var others = Enumerable.Range(0, 300).Select(i => Created(Guid.NewGuid(), name: $"bulk {i}")).ToList();
        host.Log.Append(others); // a log long enough to take a while to walk (several pages)
        await Task.WhenAll(others.Select(e => host.PublishAsync(e)));

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var failures = new List<HttpStatusCode>();
        var reads = 0;
        var reader = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var response = await host.Client.GetAsync(new Uri($"/api/products/{id}", UriKind.Relative), CancellationToken.None);
                reads++;
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    failures.Add(response.StatusCode);
                }
            }
        }, CancellationToken.None);

        var first = Generations.Active.Generation;
        using (var started = await host.Client.PostAsync(new Uri(RebuildModule.Route, UriKind.Relative), null, Ct))
        {
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        }

        // Published while the rebuild runs, never in the log it walks: only the live projection can bring it over.
        var renamed = Updated(id, 2, "Renamed during the rebuild");
        await host.PublishAsync(renamed);
        await Rebuild.Running.WaitAsync(Patience, Ct);
        await stop.CancelAsync();
        await reader;

        Assert.True(Generations.Active.Generation > first);
        Assert.Empty(failures);
        Assert.True(reads > 0);
        var view = await host.ViewAtVersionAsync(id, 2, Patience);
        Assert.Equal(("Renamed during the rebuild", 2L), (view?.Name, view?.Version));
        Assert.True(host.Log.PagesServed > 1, "the log was walked in pages");
    }

    [Fact]
    public async Task A_second_rebuild_while_one_runs_is_refused_and_a_failing_log_leaves_the_served_generation()
    {
        var served = Generations.Active.Generation;
        host.Log.FailWith = 403;
        try
        {
            using var started = await host.Client.PostAsync(new Uri(RebuildModule.Route, UriKind.Relative), null, Ct);
            using var second = await host.Client.PostAsync(new Uri(RebuildModule.Route, UriKind.Relative), null, Ct);
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
            using var problem = JsonDocument.Parse(await second.Content.ReadAsStringAsync(Ct));
            Assert.Equal("rebuild-running", problem.RootElement.GetProperty("code").GetString());

            await Rebuild.Running.WaitAsync(Patience, Ct);
        }
        finally
        {
            host.Log.FailWith = null;
        }

        var document = await host.Client.GetFromJsonAsync<JsonElement>(new Uri(RebuildModule.Route, UriKind.Relative), Ct);
        Assert.Equal(served, document.GetProperty("active").GetInt32());
        Assert.Equal(JsonValueKind.Null, document.GetProperty("building").ValueKind);
        Assert.Equal(RebuildStatus.FailedState, document.GetProperty("lastRebuild").GetProperty("state").GetString());
        Assert.Contains("403", document.GetProperty("lastRebuild").GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(served, Generations.Active.Generation);
    }

    /// <summary>Created, renamed, restocked; every fourth deleted.</summary>
    private static EventEnvelope[] Stream(Guid id, int i)
    {
        List<EventEnvelope> stream = [Created(id, name: $"P{i}"), Updated(id, 2, $"P{i}-renamed", price: i + 0.25m), StockAdjusted(id, 3, stock: i, name: $"P{i}-renamed", price: i + 0.25m)];
        if (i % 4 == 0)
        {
            stream.Add(Deleted(id, 4));
        }

        return [.. stream];
    }

    private async Task AllFinalAsync(IEnumerable<EventEnvelope[]> streams)
    {
        foreach (var stream in streams)
        {
            Assert.NotNull(await host.ViewAtVersionAsync(Guid.Parse(stream[^1].AggregateId), stream[^1].AggregateVersion, Patience));
        }
    }

    /// <summary>A hash of every field a client can see (and the tombstones), in id order.</summary>
    private static async Task<string> HashAsync(IProductViewStore store, IEnumerable<EventEnvelope[]> streams)
    {
        var ids = streams.Select(s => Guid.Parse(s[0].AggregateId)).ToList();
        var views = await store.GetManyAsync(ids, Ct);
        Assert.Equal(ids.Count, views.Count);
        var lines = ids.Order().Select(id => views[id].View).Select(v => v.Deleted
            ? $"{v.Id:D}|{v.Version}|deleted"
            : $"{v.Id:D}|{v.Version}|{v.Sku}|{v.Name}|{v.Description}|{v.Category}|{v.Price.Amount}|{v.Price.Currency}|{v.Stock}|{v.CreatedAt:O}|{v.UpdatedAt:O}|{v.PriceKey}|{v.NameKey}|{v.UpdatedAtKey}");
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', lines))));
    }
}
