using CqrsDapr.QueryService.Views;
using Dapr.Client;
using Microsoft.Extensions.Configuration;

namespace CqrsDapr.QueryService.Tests.Views;

/// <summary>What a replica serves as the generations document changes (no store needed: only the local state).</summary>
public sealed class ViewGenerationsTests : IDisposable
{
    private readonly DaprClient dapr = new DaprClientBuilder().UseHttpEndpoint("http://127.0.0.1:9").UseGrpcEndpoint("http://127.0.0.1:9").Build();
    private readonly DaprProductViewStores stores;
    private readonly ViewGenerations generations;

    public ViewGenerationsTests()
    {
        stores = new DaprProductViewStores(dapr, new ConfigurationBuilder().Build());
        generations = new ViewGenerations(stores, new DaprGenerationsStore(dapr));
    }

    [Fact]
    public void A_refresh_that_read_the_document_before_this_replicas_own_save_does_not_undo_it()
    {
        var stale = new GenerationsDocument { Active = 1, Revision = 4 };
        var claimed = stale with { Building = 2, Revision = 5 }; // a rebuild on this replica claimed generation 2

        generations.Apply(claimed);
        generations.Apply(stale); // the refresher's read from just before the claim lands afterwards

        Assert.Equal([1, 2], Writable());
    }

    [Fact]
    public void A_later_revision_from_another_replica_is_served()
    {
        generations.Apply(new GenerationsDocument { Active = 1, Building = 2, Revision = 5 });
        generations.Apply(new GenerationsDocument { Active = 2, Retiring = 1, Revision = 6 });

        Assert.Equal(2, generations.Active.Generation);
        Assert.Equal([2, 1], Writable());
    }

    [Fact]
    public async Task A_retired_generation_drains_only_after_the_writes_that_began_while_it_was_writable()
    {
        generations.Apply(new GenerationsDocument { Active = 2, Retiring = 1, Revision = 6 });
        var before = generations.BeginWrite(); // a delivery in flight when the rebuild retires generation 1
        generations.Apply(new GenerationsDocument { Active = 2, Revision = 7 });
        using (var after = generations.BeginWrite())
        {
            Assert.Equal([2], after.Stores.Select(store => store.Generation)); // a write that begins now leaves 1 alone
        }

        var drained = generations.DrainAsync(1, TimeProvider.System, TestContext.Current.CancellationToken);
        await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.False(drained.IsCompleted);
        Assert.Equal([2, 1], before.Stores.Select(store => store.Generation));

        before.Dispose();
        await drained.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Draining_a_generation_still_written_is_refused()
    {
        generations.Apply(new GenerationsDocument { Active = 2, Retiring = 1, Revision = 6 });

        await Assert.ThrowsAsync<InvalidOperationException>(() => generations.DrainAsync(1, TimeProvider.System, TestContext.Current.CancellationToken));
    }

    private int[] Writable()
    {
        using var write = generations.BeginWrite();
        return [.. write.Stores.Select(store => store.Generation)];
    }

    public void Dispose()
    {
        stores.Dispose();
        dapr.Dispose();
    }
}
