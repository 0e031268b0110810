using CqrsDapr.QueryService.Tests.Infrastructure;
using CqrsDapr.QueryService.Views;

namespace CqrsDapr.QueryService.Tests.Views;

/// <summary>The view store contract on Dapr's <c>viewstore</c>: state.postgresql v1 through a real sidecar process.</summary>
public sealed class DaprProductViewStoreTests(ViewStoreSidecar sidecar) : ProductViewStoreContract, IClassFixture<ViewStoreSidecar>
{
    private protected override IProductViewStore Store { get; } = new DaprProductViewStore(sidecar.Client, sidecar.Http);

    private protected override IProductViewStore StoreOf(int generation) => new DaprProductViewStore(sidecar.Client, sidecar.Http, generation);
}
