using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using CqrsDapr.DaprEmulator.Components;
using CqrsDapr.DaprEmulator.Hosting;
using CqrsDapr.DaprEmulator.State;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.DaprEmulator.Actors;

/// <summary>A call to an actor as it arrives on the sidecar API (body, content type, query string and headers to forward).</summary>
internal sealed record ActorCall(ReadOnlyMemory<byte> Body, string? ContentType, string QueryString, IReadOnlyList<KeyValuePair<string, string>> Headers)
{
    /// <summary>A timer or reminder tick: JSON body; <paramref name="stillScheduled"/> is checked once the turn is held.</summary>
    public static ActorCall Tick(ReadOnlyMemory<byte> body, Func<bool> stillScheduled) => new(body, "application/json", "", []) { StillScheduled = stillScheduled };

    /// <summary>
    /// For ticks: false once the timer or reminder was removed while the tick waited for the turn (for example by the
    /// actor itself in the turn before); the tick is then dropped instead of firing after its removal.
    /// </summary>
    public Func<bool>? StillScheduled { get; init; }

    public string? Header(string name) => Headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;
}

/// <summary>The app's answer to an actor call, relayed to the caller as daprd relays it.</summary>
internal sealed record ActorAppResponse(int StatusCode, string? ContentType, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body)
{
    public string? Header(string name) => Headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;
}

/// <summary>
/// Actor hosting, as daprd 1.16 does it for the app behind this sidecar (<c>pkg/actors</c>): reads the app's actor
/// types and settings from <c>GET /dapr/config</c>, keeps the table of active actors, gives each actor one turn at a
/// time (with reentrancy when the app enables it), forwards calls to <c>PUT /actors/{type}/{id}/method/{method}</c>,
/// stores actor state in the actor state store, runs timers (in memory) and reminders (persisted), deactivates idle
/// actors and, on shutdown, every active actor. Placement is not emulated: the sidecar hosts exactly its app's actor
/// types, and <see cref="ActorHostLease"/> keeps a second emulator of the same app-id from hosting them too.
/// </summary>
internal sealed partial class ActorRuntime : IAsyncDisposable
{
    public const string ErrorResponseHeader = "X-DaprErrorResponseHeader";
    public const string ReminderCancelHeader = "X-DaprReminderCancel";

    private readonly string appId;
    private readonly Func<IStateStore?> actorStore;
    private readonly IReadOnlySet<string> features;
    private readonly AppChannel.AppChannel appChannel;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly ConcurrentDictionary<ActorKey, ActiveActor> table = new();
    private readonly TaskCompletionSource<ActorHostConfig> ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource stopping = new();
    private readonly ConcurrentDictionary<Task, byte> background = new();
    private readonly Lazy<Task> shutdown;
    private ActorHostLease? lease;

    public ActorRuntime(
        EmulatorOptions options,
        ComponentRegistry registry,
        LoadedResources resources,
        AppChannel.AppChannel appChannel,
        ILoggerFactory loggerFactory,
        IHostApplicationLifetime lifetime)
        : this(
            (options ?? throw new ArgumentNullException(nameof(options))).AppId,
            () => registry?.ActorStateStore?.Store,
            (resources ?? throw new ArgumentNullException(nameof(resources))).Features,
            appChannel,
            loggerFactory,
            TimeProvider.System)
    {
        // Like daprd on SIGTERM, actors start shutting down as soon as the sidecar is asked to stop, while the HTTP
        // server still drains in-flight calls: otherwise the server would first wait for every running actor call and
        // the drain timeout would never apply.
        ArgumentNullException.ThrowIfNull(lifetime);
        lifetime.ApplicationStopping.Register(() => _ = shutdown.Value);
    }

    /// <summary>Composition without DI (tests run several runtimes over one store).</summary>
    internal ActorRuntime(string appId, Func<IStateStore?> actorStore, IReadOnlySet<string> features, AppChannel.AppChannel appChannel, ILoggerFactory loggerFactory, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(appChannel);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        this.appId = appId;
        this.actorStore = actorStore;
        this.features = features;
        this.appChannel = appChannel;
        this.time = time;
        logger = loggerFactory.CreateLogger("dapr.runtime.actor");
        shutdown = new Lazy<Task>(ShutdownAsync);
        if (!appChannel.Enabled)
        {
            ready.TrySetResult(ActorHostConfig.Empty); // No app, no hosted actors (daprd without --app-port).
        }
    }

    /// <summary>Active actors per hosted type (hosted types without active actors count 0), for the metadata API.</summary>
    public IReadOnlyDictionary<string, int> ActiveActorCounts
    {
        get
        {
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            if (ready.Task.IsCompletedSuccessfully && HostingEnabled)
            {
                foreach (var type in ready.Task.Result.HostedTypes)
                {
                    counts[type] = 0;
                }
            }

            foreach (var key in table.Keys)
            {
                counts[key.Type] = counts.GetValueOrDefault(key.Type) + 1;
            }

            return counts;
        }
    }

    private IStateStore? Store => actorStore() is { } store && store.Features.HasFlag(StateFeatures.ETag) && store.Features.HasFlag(StateFeatures.Transactional) ? store : null;

    private bool HostingEnabled => Store is not null;

    public static void MapEndpoints(IEndpointRouteBuilder endpoints) => ActorEndpoints.Map(endpoints);

    /// <summary>
    /// daprd 1.16 start-up for actors: reads <c>GET /dapr/config</c>; with hosted types and an actor state store it
    /// takes the host lease, loads reminders and starts the idle scan. Throws <see cref="ActorHostConflictException"/>
    /// when another emulator hosts the same app's actors on the same store.
    /// </summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        if (ready.Task.IsCompleted)
        {
            return;
        }

        try
        {
            var config = await ReadAppConfigAsync(cancellationToken);
            var hostedTypes = string.Join(", ", config.HostedTypes);
            if (config.HostedTypes.Count > 0)
            {
                if (Store is not { } store)
                {
                    LogNoActorStateStore(logger, hostedTypes);
                }
                else
                {
                    Volatile.Write(ref lease, await ActorHostLease.AcquireAsync(store, appId, config.HostedTypes, time, logger, cancellationToken));
                    if (stopping.IsCancellationRequested)
                    {
                        // Shutdown began while the lease was being taken and may not have seen it: release it here.
                        await ReleaseLeaseAsync();
                        throw new OperationCanceledException("the sidecar is stopping");
                    }

                    if (config.RemindersStoragePartitions > 0)
                    {
                        LogPartitionsNotEmulated(logger, config.RemindersStoragePartitions);
                    }

                    await LoadRemindersAsync(store, config, cancellationToken);
                    Track(ScanIdleActorsAsync(config.ScanInterval));
                    LogStarted(logger, hostedTypes, config.ScanInterval.TotalSeconds);
                }
            }

            ready.TrySetResult(config);
        }
        catch (Exception ex)
        {
            ready.TrySetException(ex);
            throw;
        }
    }

    /// <summary>The sidecar API's actor invocation (<c>/v1.0/actors/{type}/{id}/method/{method}</c>).</summary>
    public async Task<ActorAppResponse> InvokeAsync(string actorType, string actorId, string method, ActorCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var started = Stopwatch.GetTimestamp();
        try
        {
            var config = await ready.Task.WaitAsync(cancellationToken);
            if (!HostingEnabled || !config.Hosts(actorType))
            {
                throw NotHosted(config, actorType, actorId);
            }

            var path = "method/" + Uri.EscapeDataString(method);
            var response = (await CallAsync(new ActorKey(actorType, actorId), config.For(actorType), path, call, cancellationToken))!;
            if (response.StatusCode == 404)
            {
                // daprd reports the rewritten method path.
                throw ActorErrors.Invoke($"actor method not found: actors/{actorType}/{actorId}/method/{method}");
            }

            if (response.StatusCode != 200)
            {
                throw ActorErrors.Invoke($"error from actor service: ({response.StatusCode}) {System.Text.Encoding.UTF8.GetString(response.Body)}");
            }

            // A response carrying X-DaprErrorResponseHeader (the .NET remoting error channel) is relayed as it is.
            if (response.Header(ErrorResponseHeader) is null && IsTruthy(response.Header(ReminderCancelHeader)))
            {
                throw ActorErrors.Invoke("reminder has been canceled");
            }

            var elapsed = Stopwatch.GetElapsedTime(started);
            LogInvoked(logger, actorType, actorId, method, response.StatusCode, elapsed.TotalMilliseconds);
            return response;
        }
        catch (DaprApiException ex)
        {
            LogInvokeFailed(logger, actorType, actorId, method, ex.ErrorCode, ex.Message);
            throw;
        }
    }

    /// <summary>Shuts actor hosting down (once; later calls wait for the same shutdown).</summary>
    public ValueTask DisposeAsync() => new(shutdown.Value);

    private async Task ShutdownAsync()
    {
        await stopping.CancelAsync();
        StopAllTimers();
        await Task.WhenAll(background.Keys.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));

        // daprd halts every actor on shutdown: each gets its turn (up to the drain timeout), then DELETE.
        await Task.WhenAll(table.Values.Select(DeactivateOnShutdownAsync));
        await ReleaseLeaseAsync();

        ready.TrySetException(new ObjectDisposedException(nameof(ActorRuntime)));
        _ = ready.Task.Exception;
    }

    private async Task ReleaseLeaseAsync()
    {
        if (Interlocked.Exchange(ref lease, null) is { } held)
        {
            await held.DisposeAsync();
        }
    }

    /// <summary>
    /// One call in the actor's turn: activates the actor if needed (first call activates), waits for the turn, and
    /// sends <c>PUT /actors/{type}/{id}/{path}</c> to the app. A call that waited on an actor that got deactivated meanwhile
    /// is sent to a new activation, as daprd retries on a closed target.
    /// </summary>
    /// <returns>The app's response, or null for a tick dropped because its timer or reminder was removed meanwhile.</returns>
    private async Task<ActorAppResponse?> CallAsync(ActorKey key, ActorTypeSettings settings, string path, ActorCall call, CancellationToken cancellationToken)
    {
        while (true)
        {
            // Once shutdown began no actor is activated again (it would outlive the deactivation of all actors).
            if (stopping.IsCancellationRequested)
            {
                throw ActorErrors.RuntimeClosed();
            }

            var actor = Activate(key, settings);
            try
            {
                return await CallActivationAsync(actor, path, call, cancellationToken);
            }
            catch (ActorClosedException)
            {
            }
        }
    }

    private async Task<ActorAppResponse?> CallActivationAsync(ActiveActor actor, string path, ActorCall call, CancellationToken cancellationToken)
    {
        using var turn = await actor.Lock.AcquireAsync(call.Header(ActorLock.ReentrancyHeader), cancellationToken);
        if (call.StillScheduled?.Invoke() == false)
        {
            return null;
        }

        actor.Touch(time.GetUtcNow());
        using var request = new HttpRequestMessage(HttpMethod.Put, new Uri($"actors/{Uri.EscapeDataString(actor.Key.Type)}/{Uri.EscapeDataString(actor.Key.Id)}/{path}{call.QueryString}", UriKind.Relative))
        {
            Content = new ReadOnlyMemoryContent(call.Body),
        };
        foreach (var (name, value) in call.Headers)
        {
            if (turn.ReentrancyId is not null && string.Equals(name, ActorLock.ReentrancyHeader, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        if (turn.ReentrancyId is { } reentrancyId)
        {
            request.Headers.TryAddWithoutValidation(ActorLock.ReentrancyHeader, reentrancyId);
        }

        if (!string.IsNullOrEmpty(call.ContentType))
        {
            request.Content.Headers.TryAddWithoutValidation("Content-Type", call.ContentType);
        }

        HttpResponseMessage response;
        try
        {
            response = await appChannel.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw ActorErrors.Invoke("error invoking app channel: " + ex.Message);
        }

        using (response)
        {
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            var headers = new List<KeyValuePair<string, string>>();
            foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
            {
                if (!IsHopByHop(name) && !string.Equals(name, "Content-Type", StringComparison.OrdinalIgnoreCase))
                {
                    headers.AddRange(values.Select(v => new KeyValuePair<string, string>(name, v)));
                }
            }

            return new ActorAppResponse((int)response.StatusCode, response.Content.Headers.ContentType?.ToString(), headers, body);
        }
    }

    private ActiveActor Activate(ActorKey key, ActorTypeSettings settings)
    {
        if (table.TryGetValue(key, out var active))
        {
            return active;
        }

        var created = new ActiveActor(key, settings, time.GetUtcNow());
        var actor = table.GetOrAdd(key, created);
        if (ReferenceEquals(actor, created))
        {
            LogActivated(logger, key.Type, key.Id);
        }

        return actor;
    }

    /// <summary>Actors the app hosts and the sidecar can host (an actor state store exists).</summary>
    private async Task<ActorHostConfig> HostedConfigAsync(CancellationToken cancellationToken)
    {
        var config = await ready.Task.WaitAsync(cancellationToken);
        if (stopping.IsCancellationRequested)
        {
            throw ActorErrors.RuntimeClosed();
        }

        return HostingEnabled ? config : ActorHostConfig.Empty;
    }

    private IStateStore RequireStore() => Store ?? throw ActorErrors.RuntimeNotFound();

    private DaprApiException NotHosted(ActorHostConfig config, string actorType, string actorId)
    {
        if (!HostingEnabled && config.Hosts(actorType))
        {
            return ActorErrors.Invoke(
                $"failed to lookup actor: did not find address for actor {actorType}/{actorId}: actor hosting is disabled because no state store " +
                "has metadata actorStateStore: \"true\" (the app declares this actor type, but daprd cannot host actors without an actor state store)");
        }

        return ActorErrors.NotHostedHere(actorType, actorId, appId, HostingEnabled ? config.HostedTypes : []);
    }

    private async Task<ActorHostConfig> ReadAppConfigAsync(CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("dapr/config", UriKind.Relative));
        try
        {
            using var response = await appChannel.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                LogNoAppConfig(logger, (int)response.StatusCode);
                return ActorHostConfig.Empty;
            }

            return ActorHostConfig.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken));
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException)
        {
            LogAppConfigUnreadable(logger, ex.Message);
            return ActorHostConfig.Empty;
        }
    }

    private async Task ScanIdleActorsAsync(TimeSpan interval)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping.Token))
            {
                var now = time.GetUtcNow();
                foreach (var actor in table.Values.Where(a => a.IdleAt <= now))
                {
                    if (actor.TryBeginDeactivation())
                    {
                        Track(DeactivateIdleAsync(actor));
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Idle deactivation waits for the actor's turn like any call. If the actor was used while it waited, it stays.
    /// </summary>
    /// <remarks>
    /// daprd 1.16 deactivates each actor from a queue at exactly its idle time and does not wait for a running call
    /// (it cancels it); the emulator checks every actorScanInterval (as the settings are documented) and waits.
    /// </remarks>
    private async Task DeactivateIdleAsync(ActiveActor actor)
    {
        ActorLock.ActorTurn turn;
        try
        {
            turn = await actor.Lock.AcquireAsync(null, stopping.Token);
        }
        catch (ActorClosedException)
        {
            return;
        }
        catch (OperationCanceledException)
        {
            actor.AbandonDeactivation(); // Shutdown deactivates it instead.
            return;
        }

        using (turn)
        {
            if (actor.IdleAt > time.GetUtcNow())
            {
                actor.AbandonDeactivation();
                return;
            }

            await DeactivateInTurnAsync(actor, "idle");
        }
    }

    private async Task DeactivateOnShutdownAsync(ActiveActor actor)
    {
        if (!actor.TryBeginDeactivation())
        {
            return;
        }

        ActorLock.ActorTurn? turn = null;
        using var drain = new CancellationTokenSource(actor.Settings.DrainOngoingCallTimeout, time);
        try
        {
            turn = await actor.Lock.AcquireAsync(null, drain.Token);
        }
        catch (OperationCanceledException)
        {
            LogDrainTimedOut(logger, actor.Key.Type, actor.Key.Id, actor.Settings.DrainOngoingCallTimeout.TotalSeconds);
        }
        catch (ActorClosedException)
        {
            return;
        }

        using (turn)
        {
            await DeactivateInTurnAsync(actor, "shutdown");
        }
    }

    /// <summary>
    /// daprd's <c>Deactivate</c>: timers stop, the app gets <c>DELETE /actors/{type}/{id}</c> (must answer 200), the actor
    /// leaves the table; calls that waited for it move on to a new activation.
    /// </summary>
    private async Task DeactivateInTurnAsync(ActiveActor actor, string reason)
    {
        RemoveTimers(actor.Key);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Delete, new Uri($"actors/{Uri.EscapeDataString(actor.Key.Type)}/{Uri.EscapeDataString(actor.Key.Id)}", UriKind.Relative));
            using var response = await appChannel.SendAsync(request, CancellationToken.None);
            if (response.StatusCode != System.Net.HttpStatusCode.OK)
            {
                var body = await response.Content.ReadAsStringAsync(CancellationToken.None);
                LogDeactivationFailed(logger, actor.Key.Type, actor.Key.Id, $"error from actor service: ({(int)response.StatusCode}) {body}");
            }
            else
            {
                LogDeactivated(logger, actor.Key.Type, actor.Key.Id, reason);
            }
        }
        catch (HttpRequestException ex)
        {
            LogDeactivationFailed(logger, actor.Key.Type, actor.Key.Id, ex.Message);
        }
        finally
        {
            table.TryRemove(new KeyValuePair<ActorKey, ActiveActor>(actor.Key, actor));
            actor.Lock.Close();
        }
    }

    private void Track(Task task)
    {
        background.TryAdd(task, 0);
        task.ContinueWith(t => background.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private static bool IsTruthy(string? value) =>
        value is not null && (value.Equals("true", StringComparison.OrdinalIgnoreCase) || value is "1" || value.Equals("yes", StringComparison.OrdinalIgnoreCase)
            || value.Equals("on", StringComparison.OrdinalIgnoreCase) || value.Equals("y", StringComparison.OrdinalIgnoreCase));

    internal static bool IsHopByHop(string header) =>
        header.Equals("Connection", StringComparison.OrdinalIgnoreCase) || header.Equals("Keep-Alive", StringComparison.OrdinalIgnoreCase)
        || header.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) || header.Equals("Upgrade", StringComparison.OrdinalIgnoreCase)
        || header.Equals("TE", StringComparison.OrdinalIgnoreCase) || header.Equals("Trailer", StringComparison.OrdinalIgnoreCase)
        || header.Equals("Proxy-Connection", StringComparison.OrdinalIgnoreCase) || header.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
        || header.Equals("Host", StringComparison.OrdinalIgnoreCase) || header.Equals("Date", StringComparison.OrdinalIgnoreCase)
        || header.Equals("Server", StringComparison.OrdinalIgnoreCase);

    [LoggerMessage(Level = LogLevel.Information, Message = "Actor runtime started. Hosted actor types: {Types}. Idle actor scan every {ScanSeconds:F1} s")]
    private static partial void LogStarted(ILogger logger, string types, double scanSeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "actors: state store does not exist or incorrectly configured. Have you set the property '{{\"name\": \"actorStateStore\", \"value\": \"true\"}}' in your state store component file? Actor types {Types} will not be hosted")]
    private static partial void LogNoActorStateStore(ILogger logger, string types);

    [LoggerMessage(Level = LogLevel.Warning, Message = "remindersStoragePartitions {Partitions} is not emulated: reminders are kept unpartitioned, one record per actor type")]
    private static partial void LogPartitionsNotEmulated(ILogger logger, int partitions);

    [LoggerMessage(Level = LogLevel.Information, Message = "The app answered {Status} to GET /dapr/config: it hosts no actors")]
    private static partial void LogNoAppConfig(ILogger logger, int status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read the app's actor config (GET /dapr/config): {Error}; no actors will be hosted")]
    private static partial void LogAppConfigUnreadable(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Actor {ActorType}||{ActorId} activated")]
    private static partial void LogActivated(ILogger logger, string actorType, string actorId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Actor {ActorType}||{ActorId} method {Method} -> {Status} in {ElapsedMs:F2} ms")]
    private static partial void LogInvoked(ILogger logger, string actorType, string actorId, string method, int status, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Actor {ActorType}||{ActorId} method {Method} failed: {ErrorCode} {Error}")]
    private static partial void LogInvokeFailed(ILogger logger, string actorType, string actorId, string method, string errorCode, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Deactivated actor {ActorType}||{ActorId} ({Reason})")]
    private static partial void LogDeactivated(ILogger logger, string actorType, string actorId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deactivating actor {ActorType}||{ActorId} failed: {Error}")]
    private static partial void LogDeactivationFailed(ILogger logger, string actorType, string actorId, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Actor {ActorType}||{ActorId} was still busy after the drain timeout ({Seconds:F0} s); deactivating it anyway")]
    private static partial void LogDrainTimedOut(ILogger logger, string actorType, string actorId, double seconds);
}
