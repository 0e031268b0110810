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

        Assert.Equal([1, 2], generations.Writable.Select(store => store.Generation));
    }

    [Fact]
    public void A_later_revision_from_another_replica_is_served()
    {
        generations.Apply(new GenerationsDocument { Active = 1, Building = 2, Revision = 5 });
        generations.Apply(new GenerationsDocument { Active = 2, Retiring = 1, Revision = 6 });

        Assert.Equal(2, generations.Active.Generation);
        Assert.Equal([2, 1], generations.Writable.Select(store => store.Generation));
    }

    public void Dispose()
    {
        stores.Dispose();
        dapr.Dispose();
    }
}
