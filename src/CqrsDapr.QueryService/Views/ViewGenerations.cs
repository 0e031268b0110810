using System.Runtime.CompilerServices;
using CqrsDapr.Contracts;
using CqrsDapr.QueryService.DaprSidecar;
using Dapr;
using Dapr.Client;
using Microsoft.Extensions.Options;

namespace CqrsDapr.QueryService.Views;

/// <summary>
/// Which generation of the product views is served (<see cref="Active"/>), which one a rebuild is filling
/// (<see cref="Building"/>) and which one was served until the last switch (<see cref="Retiring"/>). Stored in the view
/// store under <see cref="Key"/>, changed only with its ETag, read by every replica.
/// </summary>
internal sealed record GenerationsDocument
{
    public const string Key = "meta|product-generations";

    public int Active { get; init; } = 1;

    public int? Building { get; init; }

    public int? Retiring { get; init; }

    public RebuildStatus? LastRebuild { get; init; }

    /// <summary>
    /// Raised by one at every save: a replica never goes back to an older document than the one it has (a refresh that
    /// read the store just before this replica's own save must not undo it).
    /// </summary>
    public long Revision { get; init; }

    /// <summary>Every generation a projector must keep current: the served one, the one being built, the one retiring.</summary>
    public IEnumerable<int> Writable()
    {
        yield return Active;
        if (Building is { } building && building != Active)
        {
            yield return building;
        }

        if (Retiring is { } retiring && retiring != Active && retiring != Building)
        {
            yield return retiring;
        }
    }
}

/// <summary>A rebuild as seen by any replica: <c>building</c>, then <c>completed</c> or <c>failed</c>.</summary>
internal sealed record RebuildStatus
{
    public const string BuildingState = "building";
    public const string CompletedState = "completed";
    public const string FailedState = "failed";

    public required int Generation { get; init; }

    public required string State { get; init; }

    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>Refreshed while the rebuild runs; a rebuild whose heartbeat stopped (its replica died) may be taken over.</summary>
    public required DateTimeOffset HeartbeatAt { get; init; }

    public DateTimeOffset? FinishedAt { get; init; }

    public long Events { get; init; }

    /// <summary>Events that changed a view (the others were older than the view, or invalid).</summary>
    public long Applied { get; init; }

    public string? Error { get; init; }
}

/// <summary>Section <c>Views</c>.</summary>
internal sealed class ViewGenerationOptions
{
    public const string Section = "Views";

    /// <summary>How often each replica re-reads <see cref="GenerationsDocument"/>. A rebuild waits twice this long before it
    /// trusts every replica to write the new generation, and again before it stops writing the old one. Default 1 s.</summary>
    public TimeSpan GenerationRefresh { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// This replica's view of <see cref="GenerationsDocument"/>: the store queries read (<see cref="Active"/>) and the
/// stores the projection writes (<see cref="BeginWrite"/>). Refreshed by <see cref="GenerationRefresher"/>; a rebuild
/// on this replica serves its own changes at once (<see cref="TrySaveAsync"/>) and, before deleting a generation it
/// stopped writing, waits out the writes that began while it was still writable (<see cref="DrainAsync"/>).
/// </summary>
internal sealed class ViewGenerations(IProductViewStores stores, IGenerationsStore store)
{
    private static readonly TimeSpan DrainPoll = TimeSpan.FromMilliseconds(10);

    private readonly TaskCompletionSource loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, StrongBox<int>> writing = new();
    private Snapshot current = new(new GenerationsDocument(), [stores.Generation(1)]);

    public GenerationsDocument Document => Volatile.Read(ref current).Document;

    /// <summary>The store queries read from.</summary>
    public IProductViewStore Active => Volatile.Read(ref current).Stores[0];

    /// <summary>
    /// Holds the generations that are writable now until the returned write is disposed: the stores to write, the served
    /// one first. A generation that stops being writable meanwhile is not deleted before the write ends.
    /// </summary>
    public GenerationsWrite BeginWrite()
    {
        while (true)
        {
            var snapshot = Volatile.Read(ref current);
            foreach (var store in snapshot.Stores)
            {
                Interlocked.Increment(ref writing.GetOrAdd(store.Generation, static _ => new StrongBox<int>()).Value);
            }

            // Counted first, then checked: a drain that swapped the snapshot before this check sees the count.
            if (ReferenceEquals(snapshot, Volatile.Read(ref current)))
            {
                return new GenerationsWrite(this, snapshot);
            }

            Release(snapshot);
        }
    }

    /// <summary>
    /// Completes once no write on this replica can still reach <paramref name="generation"/>: it must already be out of
    /// the served document. Other replicas stop within <see cref="ViewGenerationOptions.GenerationRefresh"/>.
    /// </summary>
    public async Task DrainAsync(int generation, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(time);
        if (Volatile.Read(ref current).Stores.Any(store => store.Generation == generation))
        {
            throw new InvalidOperationException($"Generation {generation} is still writable.");
        }

        Interlocked.MemoryBarrier(); // the swap of the snapshot before the read of the count (BeginWrite does the reverse)
        while (writing.TryGetValue(generation, out var count) && Volatile.Read(ref count.Value) > 0)
        {
            await Task.Delay(DrainPoll, time, cancellationToken);
        }
    }

    /// <summary>
    /// Reads the document unless it was read before: a replica that just started must not serve generation 1 while
    /// another is active. Store errors propagate to the caller (a read answers 5xx, a delivery RETRY).
    /// </summary>
    public Task EnsureLoadedAsync(CancellationToken cancellationToken) =>
        loaded.Task.IsCompleted ? Task.CompletedTask : RefreshAsync(cancellationToken);

    /// <summary>Reads the stored document and its ETag; a missing document is generation 1 alone.</summary>
    public async Task<(GenerationsDocument Document, string? ETag)> ReadAsync(CancellationToken cancellationToken)
    {
        var (document, etag) = await store.ReadAsync(cancellationToken);
        return (document ?? new GenerationsDocument(), etag);
    }

    /// <summary>
    /// Saves <paramref name="document"/> (a change of the one read with <paramref name="etag"/>; null: none stored yet)
    /// as the next revision if the stored one still has that ETag, and then serves it on this replica at once.
    /// </summary>
    public async Task<bool> TrySaveAsync(GenerationsDocument document, string? etag, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(document);
        var next = document with { Revision = document.Revision + 1 };
        if (!await store.TrySaveAsync(next, etag, cancellationToken))
        {
            return false;
        }

        Apply(next);
        return true;
    }

    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var (document, _) = await ReadAsync(cancellationToken);
        Apply(document);
        loaded.TrySetResult();
    }

    /// <summary>Serves <paramref name="document"/> unless this replica already has it or a later revision.</summary>
    public void Apply(GenerationsDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        var next = new Snapshot(document, [.. document.Writable().Select(stores.Generation)]);
        while (true)
        {
            var seen = Volatile.Read(ref current);
            if (document == seen.Document || document.Revision < seen.Document.Revision)
            {
                return;
            }

            // A refresh and a rebuild's own save may apply at once: the later revision wins either way.
            if (ReferenceEquals(Interlocked.CompareExchange(ref current, next, seen), seen))
            {
                return;
            }
        }
    }

    private void Release(Snapshot snapshot)
    {
        foreach (var store in snapshot.Stores)
        {
            Interlocked.Decrement(ref writing[store.Generation].Value);
        }
    }

    internal sealed record Snapshot(GenerationsDocument Document, IProductViewStore[] Stores);

    /// <summary>One projection's write to every generation writable when it began (<see cref="BeginWrite"/>).</summary>
    internal readonly struct GenerationsWrite(ViewGenerations owner, Snapshot snapshot) : IDisposable
    {
        /// <summary>The stores to write, the served one first.</summary>
        public IReadOnlyList<IProductViewStore> Stores => snapshot.Stores;

        public void Dispose() => owner.Release(snapshot);
    }
}

/// <summary>Re-reads the generations document every <see cref="ViewGenerationOptions.GenerationRefresh"/>.</summary>
internal sealed partial class GenerationRefresher(
    ViewGenerations generations,
    IOptions<ViewGenerationOptions> options,
    TimeProvider time,
    ILogger<GenerationRefresher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.GenerationRefresh, time);
        do
        {
            try
            {
                // A poll every second: as traces they would bury the requests that matter.
                using var untraced = OpenTelemetry.SuppressInstrumentationScope.Begin();
                await generations.RefreshAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is DaprException or HttpRequestException or Grpc.Core.RpcException or ViewStoreUnavailableException)
            {
                LogRefreshFailed(logger, ex.Message); // the sidecar may not be up yet: keep the last known generations
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read the view generations; keeping the last known ones: {Error}")]
    private static partial void LogRefreshFailed(ILogger logger, string error);
}

/// <summary>
/// The Dapr state store's generations, one <see cref="DaprProductViewStore"/> each, sharing one plain HttpClient to
/// the sidecar (no resilience handlers: a bulk save is not blindly repeatable, and a lost race must come back at once)
/// on bounded, kept-alive connections with a deadline per call (<see cref="SidecarConnections.HttpClient"/>).
/// </summary>
internal sealed class DaprProductViewStores : IProductViewStores, IDisposable
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, IProductViewStore> stores = new();
    private readonly DaprClient dapr;
    private readonly HttpClient sidecar;

    public DaprProductViewStores(DaprClient dapr, IConfiguration configuration, IOptions<SidecarOptions>? sidecarOptions = null)
    {
        this.dapr = dapr;
        sidecar = SidecarConnections.HttpClient(sidecarOptions?.Value ?? new SidecarOptions());
        SidecarHttp.Configure(sidecar, configuration);
    }

    public IProductViewStore Generation(int generation) =>
        stores.GetOrAdd(generation, g => new DaprProductViewStore(dapr, sidecar, g));

    public void Dispose() => sidecar.Dispose();
}
