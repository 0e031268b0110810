using CqrsDapr.QueryService.Tests.Infrastructure;
using CqrsDapr.QueryService.Views;
using CqrsDapr.QueryService.Views.Cosmos;

namespace CqrsDapr.QueryService.Tests.Views;

/// <summary>
/// The view store contract on Azure Cosmos DB's SDK against the stand-in server: three partitions per generation, so
/// every list merges buckets, and a container per test (created as the service creates it), because the stand-in
/// scans every document of a container for each query.
/// </summary>
public sealed class CosmosProductViewStoreTests(CosmosViewStoreServer cosmos) : ProductViewStoreContract, IClassFixture<CosmosViewStoreServer>, IAsyncLifetime
{
    private readonly CosmosViewStoreOptions options = cosmos.OptionsFor(container: "views-" + Guid.NewGuid().ToString("N"));

    private protected override IProductViewStore Store => StoreOf(1);

    private protected override IProductViewStore StoreOf(int generation) => new CosmosProductViewStore(cosmos.Container(options), options, cosmos.Observer, generation);

    public ValueTask InitializeAsync() => new(cosmos.CreateContainerAsync(options));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
