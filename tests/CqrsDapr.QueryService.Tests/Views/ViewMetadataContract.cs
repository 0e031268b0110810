using CqrsDapr.QueryService.DeadLetters;
using CqrsDapr.QueryService.Tests.Infrastructure;
using CqrsDapr.QueryService.Views;
using CqrsDapr.QueryService.Views.Cosmos;

namespace CqrsDapr.QueryService.Tests.Views;

/// <summary>
/// What lives beside the views in the same store — the generations document and the dead letters — with the same
/// guarantees on each store: first-write-wins on the document's ETag, dead letters stored once and listed oldest first.
/// </summary>
public abstract class ViewMetadataContract
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private protected abstract IGenerationsStore Generations { get; }

    private protected abstract IDeadLetterStore DeadLetters { get; }

    [Fact]
    public async Task The_generations_document_is_inserted_once_and_then_changed_only_with_its_current_etag()
    {
        Assert.Equal((null, null), await Generations.ReadAsync(Ct));

        var first = new GenerationsDocument { Active = 1, Building = 2, Revision = 1 };
        Assert.True(await Generations.TrySaveAsync(first, null, Ct));
        Assert.False(await Generations.TrySaveAsync(first with { Building = 3 }, null, Ct)); // a second insert loses
        var (stored, etag) = await Generations.ReadAsync(Ct);
        Assert.Equal(first, stored);
        Assert.False(string.IsNullOrEmpty(etag));

        var started = new DateTimeOffset(2026, 11, 27, 8, 0, 0, TimeSpan.Zero);
        var switched = first with
        {
            Active = 2,
            Building = null,
            Retiring = 1,
            Revision = 2,
            LastRebuild = new RebuildStatus { Generation = 2, State = RebuildStatus.CompletedState, StartedAt = started, HeartbeatAt = started.AddSeconds(5), FinishedAt = started.AddSeconds(6), Events = 10, Applied = 9 },
        };
        Assert.True(await Generations.TrySaveAsync(switched, etag, Ct));
        Assert.False(await Generations.TrySaveAsync(first with { Revision = 9 }, etag, Ct)); // the old ETag is stale now

        Assert.Equal(switched, (await Generations.ReadAsync(Ct)).Document);
    }

    [Fact]
    public async Task A_dead_letter_is_stored_once_and_the_list_is_oldest_first()
    {
        var at = new DateTimeOffset(2026, 11, 27, 9, 0, 0, TimeSpan.Zero);
        var later = ADeadLetter(at.AddMinutes(1));
        var earlier = ADeadLetter(at);

        Assert.True(await DeadLetters.TryAddAsync(later, Ct));
        Assert.True(await DeadLetters.TryAddAsync(earlier, Ct));
        Assert.False(await DeadLetters.TryAddAsync(later with { Reason = "again", ReceivedAt = at.AddHours(1) }, Ct)); // a redelivery

        var listed = await DeadLetters.ListAsync(100, Ct);
        Assert.Equal([earlier.Id, later.Id], listed.Where(d => d.Id == earlier.Id || d.Id == later.Id).Select(d => d.Id));
        Assert.Equal("first", listed.Single(d => d.Id == later.Id).Reason);
        Assert.Single(await DeadLetters.ListAsync(1, Ct));
    }

    private static DeadLetter ADeadLetter(DateTimeOffset receivedAt) => new()
    {
        Id = Guid.NewGuid().ToString("D"),
        Topic = "products",
        EventType = "ProductRecalled",
        Reason = "first",
        Data = System.Text.Json.JsonDocument.Parse("""{"eventId":"x"}""").RootElement.Clone(),
        ReceivedAt = receivedAt,
        ReceivedAtKey = DaprDeadLetterStore.ReceivedAtKeyOf(receivedAt),
    };
}

/// <summary>The metadata contract on the Dapr state store (state.postgresql v1 through a sidecar).</summary>
public sealed class DaprViewMetadataTests(ViewStoreSidecar sidecar) : ViewMetadataContract, IClassFixture<ViewStoreSidecar>
{
    private protected override IGenerationsStore Generations { get; } = new DaprGenerationsStore(sidecar.Client);

    private protected override IDeadLetterStore DeadLetters { get; } = new DaprDeadLetterStore(sidecar.Client);
}

/// <summary>The metadata contract on Cosmos DB (the stand-in server, a container per test).</summary>
public sealed class CosmosViewMetadataTests(CosmosViewStoreServer cosmos) : ViewMetadataContract, IClassFixture<CosmosViewStoreServer>, IAsyncLifetime
{
    private readonly CosmosViewStoreOptions options = cosmos.OptionsFor(container: "meta-" + Guid.NewGuid().ToString("N"));

    private protected override IGenerationsStore Generations => new CosmosGenerationsStore(cosmos.Client, Microsoft.Extensions.Options.Options.Create(options), cosmos.Observer);

    private protected override IDeadLetterStore DeadLetters => new CosmosDeadLetterStore(cosmos.Client, Microsoft.Extensions.Options.Options.Create(options), cosmos.Observer);

    public ValueTask InitializeAsync() => new(cosmos.CreateContainerAsync(options));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
