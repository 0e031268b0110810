using CqrsDapr.QueryService.Products;
using CqrsDapr.QueryService.Projection;
using CqrsDapr.QueryService.Tests.Infrastructure;
using CqrsDapr.QueryService.Views;
using Microsoft.Extensions.DependencyInjection;
using static CqrsDapr.QueryService.Tests.Infrastructure.ProductEvents;

namespace CqrsDapr.QueryService.Tests.Projection;

/// <summary>
/// A product's creation is projected without reading its view first (no view can be older than version 1), and the
/// insert-only save sends a creation that was applied before back to the usual read-then-decide: same views, fewer reads.
/// </summary>
public sealed class UnreadCreationTests(QueryServiceHost host) : IClassFixture<QueryServiceHost>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ProductProjection Projection => host.Services.GetRequiredService<ProductProjection>();

    [Fact]
    public async Task A_batch_of_new_products_is_saved_without_a_single_read()
    {
        var store = new CountingStore(host.Store);
        var ids = Enumerable.Range(0, 5).Select(_ => Guid.NewGuid()).ToList();

        var outcomes = await Projection.ProjectBatchAsync([.. ids.Select(id => Created(id))], store, live: false, Ct);

        Assert.All(outcomes, o => Assert.Equal(ProjectionOutcome.Applied, o));
        Assert.Equal(0, store.Reads);
        var views = await host.Store.GetManyAsync(ids, Ct);
        Assert.Equal(ids.Order(), views.Keys.Order());
        Assert.All(views.Values, v => Assert.Equal(1, v.View.Version));
    }

    [Fact]
    public async Task A_creation_delivered_again_after_its_product_changed_leaves_the_newer_view_in_a_batch_and_alone()
    {
        var store = new CountingStore(host.Store);
        var known = Guid.NewGuid();
        var fresh = Guid.NewGuid();
        await Projection.ProjectBatchAsync([Created(known, name: "First"), Updated(known, 2, "Second")], host.Store, live: false, Ct);

        var batch = await Projection.ProjectBatchAsync([Created(known, name: "First"), Created(fresh)], store, live: false, Ct);
        var alone = await Projection.ProjectBatchAsync([Created(known, name: "First")], store, live: false, Ct);

        // The bulk save is not atomic: the fresh product's insert may have gone in before the batch was redone event by
        // event, which then finds it applied. Either way Dapr hears SUCCESS for both.
        Assert.Equal(ProjectionOutcome.AlreadyApplied, batch[0]);
        Assert.Contains(batch[1], (ProjectionOutcome[])[ProjectionOutcome.Applied, ProjectionOutcome.AlreadyApplied]);
        Assert.Equal([ProjectionOutcome.AlreadyApplied], alone);
        Assert.True(store.Reads > 0); // the insert-only save failed, and the creation was decided again on the stored view
        var views = await host.Store.GetManyAsync([known, fresh], Ct);
        Assert.Equal(("Second", 2L), (views[known].View.Name, views[known].View.Version));
        Assert.Equal(1, views[fresh].View.Version);
    }

    [Fact]
    public async Task A_deleted_product_whose_creation_comes_again_stays_deleted()
    {
        var id = Guid.NewGuid();
        await Projection.ProjectBatchAsync([Created(id), Deleted(id, 2)], host.Store, live: false, Ct);

        var outcomes = await Projection.ProjectBatchAsync([Created(id)], new CountingStore(host.Store), live: false, Ct);

        Assert.Equal([ProjectionOutcome.AlreadyApplied], outcomes);
        var view = await host.Store.GetAsync(id, Ct);
        Assert.True(view!.View.Deleted);
        Assert.Equal(2, view.View.Version);
    }

    /// <summary>The host's store, counting the reads made through it.</summary>
    private sealed class CountingStore(IProductViewStore inner) : IProductViewStore
    {
        private int reads;

        public int Reads => reads;

        public int Generation => inner.Generation;

        public Task<StoredView?> GetAsync(Guid id, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref reads);
            return inner.GetAsync(id, cancellationToken);
        }

        public Task<IReadOnlyDictionary<Guid, StoredView>> GetManyAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref reads);
            return inner.GetManyAsync(ids, cancellationToken);
        }

        public Task<bool> TrySaveAsync(ProductView view, string? etag, CancellationToken cancellationToken) =>
            inner.TrySaveAsync(view, etag, cancellationToken);

        public Task<bool> TrySaveManyAsync(IReadOnlyList<(ProductView View, string? ETag)> views, CancellationToken cancellationToken) =>
            inner.TrySaveManyAsync(views, cancellationToken);

        public Task<long> DeleteAllAsync(CancellationToken cancellationToken) => inner.DeleteAllAsync(cancellationToken);

        public Task<ProductPage> QueryAsync(ProductQuery query, CancellationToken cancellationToken) => inner.QueryAsync(query, cancellationToken);
    }
}
