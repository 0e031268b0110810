using System.Collections.Concurrent;
using System.Diagnostics;
using CqrsDapr.QueryService.Products;
using CqrsDapr.QueryService.Rebuild;
using CqrsDapr.QueryService.Views;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CqrsDapr.QueryService.ProjectionBenchmarks;

/// <summary>Calls, items and time spent in one kind of call (thread-safe; read and reset between runs).</summary>
internal sealed class PhaseTimer
{
    private long calls;
    private long items;
    private long ticks;

    public long Calls => Interlocked.Read(ref calls);

    public long Items => Interlocked.Read(ref items);

    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref ticks));

    public void Add(long started, int count)
    {
        Interlocked.Add(ref ticks, Stopwatch.GetTimestamp() - started);
        Interlocked.Increment(ref calls);
        Interlocked.Add(ref items, count);
    }

    public void Reset()
    {
        Interlocked.Exchange(ref calls, 0);
        Interlocked.Exchange(ref items, 0);
        Interlocked.Exchange(ref ticks, 0);
    }

    public override string ToString() =>
        Calls == 0 ? "none" : $"{Calls} calls, {Items} items, {Elapsed.TotalSeconds:F2} s ({Elapsed.TotalMilliseconds / Calls:F0} ms/call)";
}

/// <summary>
/// Where a rebuild's time goes, measured from outside the query service's code: decorators on its view stores (bulk
/// get, bulk save) and a handler on its event-log HttpClient (request to last byte of the page).
/// </summary>
internal sealed class RebuildProbes
{
    public PhaseTimer LogReads { get; } = new();

    public PhaseTimer BulkGets { get; } = new();

    public PhaseTimer BulkSaves { get; } = new();

    public void Reset()
    {
        LogReads.Reset();
        BulkGets.Reset();
        BulkSaves.Reset();
    }

    /// <summary>Installs the probes in the query service's container (after its own registrations).</summary>
    public void Install(IServiceCollection services)
    {
        services.RemoveAll<IProductViewStores>();
        services.AddSingleton<DaprProductViewStores>();
        services.AddSingleton<IProductViewStores>(provider => new TimedStores(provider.GetRequiredService<DaprProductViewStores>(), this));
        services.AddHttpClient<EventLogClient>().AddHttpMessageHandler(() => new TimedHandler(LogReads));
    }

    private sealed class TimedHandler(PhaseTimer timer) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var started = Stopwatch.GetTimestamp();
            var response = await base.SendAsync(request, cancellationToken);
            await response.Content.LoadIntoBufferAsync(cancellationToken);
            timer.Add(started, 1);
            return response;
        }
    }

    private sealed class TimedStores(IProductViewStores inner, RebuildProbes probes) : IProductViewStores
    {
        private readonly ConcurrentDictionary<int, IProductViewStore> stores = new();

        public IProductViewStore Generation(int generation) =>
            stores.GetOrAdd(generation, g => new TimedStore(inner.Generation(g), probes));
    }

    private sealed class TimedStore(IProductViewStore inner, RebuildProbes probes) : IProductViewStore
    {
        public int Generation => inner.Generation;

        public Task<StoredView?> GetAsync(Guid id, CancellationToken cancellationToken) => inner.GetAsync(id, cancellationToken);

        public Task<bool> TrySaveAsync(ProductView view, string? etag, CancellationToken cancellationToken) => inner.TrySaveAsync(view, etag, cancellationToken);

        public Task<ProductPage> QueryAsync(ProductQuery query, CancellationToken cancellationToken) => inner.QueryAsync(query, cancellationToken);

        public Task<long> DeleteAllAsync(CancellationToken cancellationToken) => inner.DeleteAllAsync(cancellationToken);

        public async Task<IReadOnlyDictionary<Guid, StoredView>> GetManyAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken)
        {
            var started = Stopwatch.GetTimestamp();
            var found = await inner.GetManyAsync(ids, cancellationToken);
            probes.BulkGets.Add(started, ids.Count);
            return found;
        }

        public async Task<bool> TrySaveManyAsync(IReadOnlyList<(ProductView View, string? ETag)> views, CancellationToken cancellationToken)
        {
            var started = Stopwatch.GetTimestamp();
            var saved = await inner.TrySaveManyAsync(views, cancellationToken);
            probes.BulkSaves.Add(started, views.Count);
            return saved;
        }
    }
}
