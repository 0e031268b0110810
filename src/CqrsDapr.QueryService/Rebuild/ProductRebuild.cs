using System.Diagnostics;
using System.Threading.Channels;
using CqrsDapr.Contracts;
using CqrsDapr.QueryService.Projection;
using CqrsDapr.QueryService.Views;
using Dapr;
using Microsoft.Extensions.Options;

namespace CqrsDapr.QueryService.Rebuild;

/// <summary>Section <c>Rebuild</c>.</summary>
internal sealed class RebuildOptions
{
    public const string Section = "Rebuild";

    /// <summary>Events per event-log page, the most the command service serves (fewer round trips). Default 5,000.</summary>
    public int PageSize { get; set; } = 5000;

    /// <summary>
    /// Events projected together: each product's events in one batch fold into one view save. Bounds the memory a
    /// rebuild holds (about 1 KB per event). Default 20,000.
    /// </summary>
    public int BatchEvents { get; set; } = 20_000;

    /// <summary>A rebuild whose heartbeat is older than this is presumed dead and may be replaced. Default 60 s.</summary>
    public TimeSpan TakeOverAfter { get; set; } = TimeSpan.FromSeconds(60);
}

/// <summary>How a request to start a rebuild ended: started, or refused because one is running.</summary>
internal readonly record struct RebuildStart(bool Started, GenerationsDocument Document);

/// <summary>
/// Rebuilds every product view from the command service's event log into a fresh generation, then makes it the served
/// one, without read downtime (docs/queries.md, "Rebuilds"):
/// <list type="number">
/// <item>The generations document gets <c>building = n</c>; within <see cref="ViewGenerationOptions.GenerationRefresh"/>
/// every replica's live projection writes generation n as well as the served one. The rebuild waits twice that.</item>
/// <item>It then walks the whole log (published events only) into generation n, in bulk. Every event published before
/// the walk started is in the log; every one published after reaches generation n live. Both paths apply events by
/// version, so overlaps are harmless.</item>
/// <item>It switches: <c>active = n</c>, and the old generation is <c>retiring</c> (still written) for twice the refresh
/// interval, so a replica that has not seen the switch yet still serves current data. Then writes to it stop, and once
/// every replica has seen that and this replica's writes to it have ended, it is deleted.</item>
/// </list>
/// Reads are served from the old generation until the switch and from the new one after: never from a partial one.
/// </summary>
internal sealed partial class ProductRebuild(
    ViewGenerations generations,
    IProductViewStores stores,
    ProductProjection projection,
    EventLogClient eventLog,
    IOptions<ViewGenerationOptions> generationOptions,
    IOptions<RebuildOptions> options,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<ProductRebuild> logger)
{
    private const int MaxEventRetries = 5;
    private static readonly TimeSpan HeartbeatEvery = TimeSpan.FromSeconds(5);

    private Task running = Task.CompletedTask;

    /// <summary>The rebuild started by this replica, if any (tests and shutdown wait on it).</summary>
    public Task Running => running;

    /// <summary>Claims the next generation in the generations document and starts filling it in the background.</summary>
    public async Task<RebuildStart> StartAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var (document, etag) = await generations.ReadAsync(cancellationToken);
            var now = time.GetUtcNow();
            if (document.Building is not null && document.LastRebuild is { } last && now - last.HeartbeatAt < options.Value.TakeOverAfter)
            {
                return new RebuildStart(false, document);
            }

            var generation = new[] { document.Active, document.Building ?? 0, document.Retiring ?? 0, document.LastRebuild?.Generation ?? 0 }.Max() + 1;
            var claimed = document with
            {
                Building = generation,
                LastRebuild = new RebuildStatus { Generation = generation, State = RebuildStatus.BuildingState, StartedAt = now, HeartbeatAt = now },
            };
            if (await generations.TrySaveAsync(claimed, etag, cancellationToken))
            {
                LogStarted(logger, generation, document.Active);
                running = Task.Run(() => RunAsync(generation, lifetime.ApplicationStopping), CancellationToken.None);
                return new RebuildStart(true, generations.Document);
            }
        }
    }

    private async Task RunAsync(int generation, CancellationToken stopping)
    {
        var clock = Stopwatch.StartNew();
        var progress = new Progress();
        try
        {
            var refresh = generationOptions.Value.GenerationRefresh;
            await Task.Delay(refresh * 2, time, stopping); // every replica now projects into the new generation too

            var store = stores.Generation(generation);
            // The log is read ahead, page after page, while batches are projected: a bounded channel of pages keeps
            // at most about two batches in memory.
            var pageSize = options.Value.PageSize;
            var batchEvents = options.Value.BatchEvents;
            var pages = Channel.CreateBounded<EventLogPage>(new BoundedChannelOptions(Math.Max(2, 2 * batchEvents / pageSize)) { SingleReader = true, SingleWriter = true });
            using var reading = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            var reader = ReadLogAsync(pages.Writer, pageSize, reading.Token);
            try
            {
                await ProjectPagesAsync(pages.Reader, batchEvents, store, progress, generation, clock, stopping);
            }
            finally
            {
                await reading.CancelAsync();
                await reader.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }

            if (progress.Superseded)
            {
                return;
            }

            // Switch: the new generation is served; the old one is kept written until every replica has switched.
            if (!await UpdateAsync(generation, (d, s) => d with
            {
                Active = generation,
                Building = null,
                Retiring = d.Active,
                LastRebuild = s with
                {
                    State = RebuildStatus.CompletedState,
                    HeartbeatAt = time.GetUtcNow(),
                    FinishedAt = time.GetUtcNow(),
                    Events = progress.Events,
                    Applied = progress.Applied,
                },
            }, stopping))
            {
                return;
            }

            var seconds = clock.Elapsed.TotalSeconds;
            var rate = progress.Events / Math.Max(seconds, 1e-3);
            LogSwitched(logger, generation, progress.Events, seconds, rate);
            var previous = generations.Document.Retiring; // set by the switch just saved (and applied here)
            await Task.Delay(refresh * 2, time, stopping);
            if (await RetireAsync(generation, stopping) && previous is { } retired && retired != generation)
            {
                // Deleted only once nothing writes it any more: the other replicas stop within a refresh, and this
                // one's deliveries that began while it was writable end first (else they would bring views back).
                await Task.Delay(refresh * 2, time, stopping);
                await generations.DrainAsync(retired, time, stopping);
                var deleted = await stores.Generation(retired).DeleteAllAsync(stopping);
                LogRetired(logger, retired, deleted);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Shutting down: the heartbeat stops, and another replica may take the rebuild over later.
        }
        catch (Exception ex) when (ex is HttpRequestException or DaprException or ViewStoreUnavailableException or InvalidOperationException or TimeoutException)
        {
            LogFailed(logger, ex, generation);
            await UpdateAsync(generation, (d, s) => d with
            {
                Building = null,
                LastRebuild = s with { State = RebuildStatus.FailedState, FinishedAt = time.GetUtcNow(), Error = ex.Message, Events = progress.Events },
            }, CancellationToken.None);
        }
    }

    /// <summary>Reads the whole log into <paramref name="pages"/>, completing it at the end or with the error that stopped it.</summary>
    private async Task ReadLogAsync(ChannelWriter<EventLogPage> pages, int pageSize, CancellationToken cancellationToken)
    {
        try
        {
            string? cursor = null;
            do
            {
                var page = await eventLog.ReadAsync(cursor, pageSize, cancellationToken);
                await pages.WriteAsync(page, cancellationToken);
                cursor = page.Cursor;
            }
            while (cursor is not null);

            pages.TryComplete();
        }
        catch (Exception ex)
        {
            pages.TryComplete(ex);
        }
    }

    /// <summary>
    /// Gathers pages into batches of <paramref name="batchEvents"/> and projects each in bulk: the log is read in
    /// aggregate order, so a product's events come together and fold into one save (two when a batch splits them).
    /// Refreshes the heartbeat as it goes; stops when another rebuild took the generations document over.
    /// </summary>
    private async Task ProjectPagesAsync(
        ChannelReader<EventLogPage> pages, int batchEvents, IProductViewStore store, Progress progress, int generation, Stopwatch clock, CancellationToken cancellationToken)
    {
        var lastBeat = clock.Elapsed;
        var batch = new List<EventEnvelope>(batchEvents);
        var more = true;
        while (more)
        {
            batch.Clear();
            while (batch.Count < batchEvents && (more = await pages.WaitToReadAsync(cancellationToken)))
            {
                while (batch.Count < batchEvents && pages.TryRead(out var page))
                {
                    batch.AddRange(page.Events);
                }
            }

            await ProjectAsync(batch, store, progress, cancellationToken);
            if (more && clock.Elapsed - lastBeat > HeartbeatEvery)
            {
                lastBeat = clock.Elapsed;
                if (!await UpdateAsync(generation, (d, s) => d with { LastRebuild = s with { HeartbeatAt = time.GetUtcNow(), Events = progress.Events, Applied = progress.Applied } }, cancellationToken))
                {
                    progress.Superseded = true;
                    return;
                }
            }
        }
    }

    private async Task ProjectAsync(IReadOnlyList<EventEnvelope> events, IProductViewStore store, Progress progress, CancellationToken cancellationToken)
    {
        var pending = events;
        for (var attempt = 1; pending.Count > 0; attempt++)
        {
            var outcomes = await projection.ProjectBatchAsync(pending, store, live: false, cancellationToken);
            progress.Applied += outcomes.Count(o => o == ProjectionOutcome.Applied);
            var retry = pending.Where((_, i) => outcomes[i] == ProjectionOutcome.Retry).ToList();
            progress.Events += pending.Count - retry.Count;
            if (retry.Count > 0 && attempt == MaxEventRetries)
            {
                throw new InvalidOperationException($"{retry.Count} events kept losing races with the live projection ({MaxEventRetries} attempts).");
            }

            pending = retry;
        }
    }

    /// <summary>Stops writing the previous generation once every replica serves the new one.</summary>
    private Task<bool> RetireAsync(int generation, CancellationToken cancellationToken) =>
        UpdateAsync(generation, (d, _) => d.Active == generation ? d with { Retiring = null } : d, cancellationToken, requireBuilding: false);

    /// <summary>
    /// Changes the generations document with its ETag, as long as this rebuild still owns it (another replica may have
    /// taken over a rebuild it believed dead). False when it does not.
    /// </summary>
    private async Task<bool> UpdateAsync(
        int generation, Func<GenerationsDocument, RebuildStatus, GenerationsDocument> change, CancellationToken cancellationToken, bool requireBuilding = true)
    {
        while (true)
        {
            var (document, etag) = await generations.ReadAsync(cancellationToken);
            if (document.LastRebuild is not { } status || status.Generation != generation || (requireBuilding && document.Building != generation))
            {
                LogSuperseded(logger, generation);
                return false;
            }

            var changed = change(document, status);
            if (await generations.TrySaveAsync(changed, etag, cancellationToken))
            {
                return true;
            }
        }
    }

    private sealed class Progress
    {
        public long Events { get; set; }

        public long Applied { get; set; }

        public bool Superseded { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Rebuilding product views into generation {Generation} (serving {Active} meanwhile)")]
    private static partial void LogStarted(ILogger logger, int generation, int active);

    [LoggerMessage(Level = LogLevel.Information, Message = "Product views generation {Generation} is served: {Events} events in {Seconds:F1} s ({Rate:F0}/s)")]
    private static partial void LogSwitched(ILogger logger, int generation, long events, double seconds, double rate);

    [LoggerMessage(Level = LogLevel.Information, Message = "Product views generation {Generation} retired: {Deleted} documents deleted")]
    private static partial void LogRetired(ILogger logger, int generation, long deleted);

    [LoggerMessage(Level = LogLevel.Error, Message = "Rebuild of product views generation {Generation} failed; the served generation is unchanged")]
    private static partial void LogFailed(ILogger logger, Exception exception, int generation);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rebuild of generation {Generation} no longer owns the generations document (taken over or finished elsewhere): stopping")]
    private static partial void LogSuperseded(ILogger logger, int generation);
}
