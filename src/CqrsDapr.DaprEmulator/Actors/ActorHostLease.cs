using System.Globalization;
using System.Text.Json;
using CqrsDapr.DaprEmulator.State;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.DaprEmulator.Actors;

/// <summary>
/// Guards the one thing the emulator cannot do: placement. daprd spreads an app-id's actors over all its replicas
/// through the placement service, so each actor runs in exactly one place. The emulator hosts every actor of its app
/// itself; a second emulator for the same app-id on the same actor state store would run the same actors twice
/// (two turn locks, two timers, two reminder schedulers). So the hosting emulator holds a lease: one row in the actor
/// state store, written only with ETags (through <see cref="IStateStore"/>, so it works on any store), renewed every
/// <see cref="RenewInterval"/> and deleted on a clean stop. A second emulator that finds a live lease (one whose ETag
/// changes while it watches, or that has not expired) refuses to start with an error that says so. A lease left by a
/// crashed emulator stops being renewed and is taken over once it expires, so a restart after a crash waits at most
/// <see cref="Duration"/>.
/// </summary>
/// <remarks>
/// The row is <c>dapr-emulator-actor-host||{appId}</c>: two segments whose first can be neither an app-id used by
/// daprd's actor rows (<c>appId||type||id||key</c>) nor its reminder rows (<c>actors||type</c>).
/// </remarks>
internal sealed partial class ActorHostLease : IAsyncDisposable
{
    public static readonly TimeSpan Duration = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan RenewInterval = TimeSpan.FromSeconds(1);

    private readonly IStateStore store;
    private readonly string key;
    private readonly LeaseHolder self;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly CancellationTokenSource stop = new();
    private string etag;
    private Task? renewal;

    private ActorHostLease(IStateStore store, string key, LeaseHolder self, string etag, TimeProvider time, ILogger logger)
    {
        this.store = store;
        this.key = key;
        this.self = self;
        this.etag = etag;
        this.time = time;
        this.logger = logger;
    }

    public static string KeyFor(string appId) => "dapr-emulator-actor-host||" + appId;

    /// <summary>Takes the lease or throws <see cref="ActorHostConflictException"/> when another emulator holds it.</summary>
    public static async Task<ActorHostLease> AcquireAsync(
        IStateStore store, string appId, IReadOnlyCollection<string> actorTypes, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(time);
        var key = KeyFor(appId);
        var self = new LeaseHolder(Guid.NewGuid().ToString("N"), appId, Environment.MachineName, Environment.ProcessId, [.. actorTypes.Order(StringComparer.Ordinal)], default, default);
        string? watchedETag = null;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var now = time.GetUtcNow();
            var current = await store.GetAsync(key, cancellationToken);
            var holder = current is null ? null : LeaseHolder.TryRead(current.Data.Span);
            if (current is null || holder is null || holder.ExpiresAt <= now)
            {
                // Free, unreadable or expired: take it. FirstWrite makes a concurrent insert lose; an ETag makes a
                // concurrent takeover lose. Whoever loses reads again.
                var claim = self with { RenewedAt = now, ExpiresAt = now + Duration };
                try
                {
                    await store.SetAsync(claim.ToStateSet(key, current?.ETag, store.Features), cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogClaimLost(logger, key, ex.Message);
                    continue;
                }

                var written = await store.GetAsync(key, cancellationToken);
                if (written is not null && LeaseHolder.TryRead(written.Data.Span)?.Instance == self.Instance)
                {
                    if (holder is not null)
                    {
                        LogTookOver(logger, appId, holder.Describe());
                    }

                    var lease = new ActorHostLease(store, key, claim, written.ETag, time, logger);
                    lease.renewal = lease.RenewLoopAsync();
                    return lease;
                }

                continue;
            }

            // Held by someone else and not expired. A holder that renews is alive: fail now. One that does not
            // renew may have crashed: wait until its lease expires, then take over.
            if (watchedETag is null)
            {
                watchedETag = current.ETag;
                LogWaitingForLease(logger, appId, holder.Describe(), (holder.ExpiresAt - now).TotalSeconds);
            }
            else if (watchedETag != current.ETag)
            {
                throw new ActorHostConflictException(
                    $"another Dapr emulator already hosts the actors of app '{appId}' on this actor state store ({holder.Describe()}). " +
                    "daprd would spread the actors over both replicas through the placement service; the emulator does not emulate placement " +
                    "and will not run the same actors twice. Run one emulator per app-id, give each a different actor state store, or use daprd.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), time, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        if (renewal is not null)
        {
            await renewal;
        }

        try
        {
            await store.DeleteAsync(new StateDelete(key, etag, StateConcurrency.FirstWrite, new Dictionary<string, string>()), CancellationToken.None);
        }
        catch (Exception ex)
        {
            LogReleaseFailed(logger, key, ex.Message);
        }

        stop.Dispose();
    }

    private async Task RenewLoopAsync()
    {
        using var timer = new PeriodicTimer(RenewInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stop.Token))
            {
                var now = time.GetUtcNow();
                var renewed = self with { RenewedAt = now, ExpiresAt = now + Duration };
                try
                {
                    await store.SetAsync(renewed.ToStateSet(key, etag, store.Features), stop.Token);
                    var written = await store.GetAsync(key, stop.Token);
                    if (written is not null && LeaseHolder.TryRead(written.Data.Span)?.Instance == self.Instance)
                    {
                        etag = written.ETag;
                    }
                }
                catch (StateETagMismatchException)
                {
                    LogLeaseLost(logger, self.AppId);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogRenewFailed(logger, key, ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Actor host lease {Key}: claim lost to a concurrent writer ({Error}); reading it again")]
    private static partial void LogClaimLost(ILogger logger, string key, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Took over the actor host lease of app '{AppId}' from an emulator that stopped renewing it ({Holder})")]
    private static partial void LogTookOver(ILogger logger, string appId, string holder);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The actors of app '{AppId}' are leased by another emulator ({Holder}); waiting up to {Seconds:F1} s to see whether it is still alive")]
    private static partial void LogWaitingForLease(ILogger logger, string appId, string holder, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Another emulator took over the actor host lease of app '{AppId}': actors may now run twice")]
    private static partial void LogLeaseLost(ILogger logger, string appId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing actor host lease {Key} failed: {Error}")]
    private static partial void LogRenewFailed(ILogger logger, string key, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Releasing actor host lease {Key} failed: {Error}")]
    private static partial void LogReleaseFailed(ILogger logger, string key, string error);

    private sealed record LeaseHolder(
        string Instance, string AppId, string Host, int ProcessId, string[] ActorTypes, DateTimeOffset RenewedAt, DateTimeOffset ExpiresAt)
    {
        private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

        public string Describe() =>
            string.Create(CultureInfo.InvariantCulture, $"host {Host}, pid {ProcessId}, actor types {string.Join(", ", ActorTypes)}, renewed {RenewedAt:O}");

        public StateSet ToStateSet(string key, string? etag, StateFeatures features)
        {
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            if (features.HasFlag(StateFeatures.Ttl))
            {
                // A crashed holder's row also disappears on its own where the store supports TTL.
                metadata["ttlInSeconds"] = ((int)Math.Ceiling(Duration.TotalSeconds) + 1).ToString(CultureInfo.InvariantCulture);
            }

            return new StateSet(key, StateValue.Json(JsonSerializer.SerializeToUtf8Bytes(this, Json)), etag, StateConcurrency.FirstWrite, metadata);
        }

        public static LeaseHolder? TryRead(ReadOnlySpan<byte> data)
        {
            try
            {
                return JsonSerializer.Deserialize<LeaseHolder>(data, Json) is { Instance.Length: > 0 } holder ? holder : null;
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }
}

/// <summary>Another emulator hosts this app-id's actors on the same actor state store.</summary>
internal sealed class ActorHostConflictException(string message) : Exception(message);
