using CqrsDapr.DaprEmulator.Hosting;
using CqrsDapr.DaprEmulator.PubSub;
using CqrsDapr.DaprEmulator.State;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.DaprEmulator.Components;

/// <summary>A loaded state store with the key scheme of its component.</summary>
internal sealed record StateStoreEntry(IStateStore Store, StateKeys Keys, ComponentDefinition Definition, bool IsActorStateStore);

/// <summary>A loaded pub/sub component.</summary>
internal sealed record PubSubEntry(IPubSub PubSub, ComponentDefinition Definition);

/// <summary>
/// Creates and initialises the components daprd would load, with daprd 1.16's start-up rules: an unknown type is
/// fatal, an init failure is fatal unless <c>ignoreErrors</c>, init is bounded by <c>initTimeout</c>, and at most one
/// state store may be the actor state store.
/// </summary>
internal sealed partial class ComponentRegistry(EmulatorOptions options, ILoggerFactory loggerFactory) : IAsyncDisposable
{
    private readonly ILogger logger = loggerFactory.CreateLogger("dapr.runtime.components");
    private readonly Dictionary<string, StateStoreEntry> stateStores = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PubSubEntry> pubSubs = new(StringComparer.Ordinal);
    private readonly List<ComponentDefinition> loaded = [];

    public static IReadOnlySet<string> SupportedTypes { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "state.postgresql", "state.in-memory", "pubsub.redis", "pubsub.in-memory", "secretstores.local.env",
    };

    public IReadOnlyDictionary<string, StateStoreEntry> StateStores => stateStores;

    public IReadOnlyDictionary<string, PubSubEntry> PubSubs => pubSubs;

    public IReadOnlyList<ComponentDefinition> Loaded => loaded;

    public StateStoreEntry? ActorStateStore { get; private set; }

    public async Task InitializeAsync(IReadOnlyList<ComponentDefinition> components, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(components);
        foreach (var definition in components)
        {
            EnsureSupported(definition);
        }

        // daprd 1.16 initialises components one by one in file order, and components of one type can depend on that
        // order (two state.postgresql v1 stores share the metadata table's migration level). Those keep it; different
        // types (Redis pub/sub, PostgreSQL store) initialise concurrently, so start-up is the slowest chain rather than
        // the sum. Registration is in file order, so errors and the single-actor-store rule come out as in daprd.
        var inits = new List<Task<IAsyncDisposable?>>(components.Count);
        var previousOfType = new Dictionary<string, Task>(StringComparer.Ordinal);
        foreach (var definition in components)
        {
            var init = InitializeAfterAsync(previousOfType.GetValueOrDefault(definition.Type), definition, cancellationToken);
            previousOfType[definition.Type] = init;
            inits.Add(init);
        }

        await Task.WhenAll(inits.Cast<Task>()).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing); // failures are handled below, in file order

        try
        {
            for (var i = 0; i < components.Count; i++)
            {
                var definition = components[i];
                var init = inits[i];
                if (!init.IsCompletedSuccessfully)
                {
                    var error = init.Exception?.InnerException ?? new OperationCanceledException(cancellationToken);
                    if (error is OperationCanceledException && cancellationToken.IsCancellationRequested)
                    {
                        throw error;
                    }

                    if (definition.IgnoreErrors)
                    {
                        LogIgnoredInitError(logger, definition.Name, error.Message);
                        continue;
                    }

                    throw new ResourceException($"init timeout or error for component {definition.Name} (type {definition.Type}/{definition.Version}): {error.Message}");
                }

                Register(definition, init.Result);
                inits[i] = Task.FromResult<IAsyncDisposable?>(null); // owned by the registry now
                loaded.Add(definition);
                LogLoaded(logger, definition.Name, definition.Type, definition.Version);
            }
        }
        catch
        {
            // Start-up fails: close what was initialised but never registered (the registry disposes the rest).
            foreach (var init in inits.Where(t => t.IsCompletedSuccessfully && t.Result is not null))
            {
                await init.Result!.DisposeAsync();
            }

            throw;
        }

        if (ActorStateStore is null)
        {
            LogNoActorStore(logger);
        }
    }

    private static void EnsureSupported(ComponentDefinition definition)
    {
        if (!SupportedTypes.Contains(definition.Type))
        {
            throw new ResourceException(
                $"component '{definition.Name}' ({definition.SourceFile}) has type '{definition.Type}/{definition.Version}', which the emulator does not support. " +
                $"Supported: {string.Join(", ", SupportedTypes.Order(StringComparer.Ordinal))}. Install daprd to use other components.");
        }

        if (definition.Type == "state.postgresql" && definition.Version != "v1")
        {
            throw new ResourceException($"component '{definition.Name}': state.postgresql version '{definition.Version}' is not emulated (only v1)");
        }
    }

    private async Task<IAsyncDisposable?> InitializeAfterAsync(Task? previous, ComponentDefinition definition, CancellationToken cancellationToken)
    {
        if (previous is null)
        {
            await Task.Yield(); // let every chain start before any of them does synchronous work
        }
        else
        {
            await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        return await InitializeOneAsync(definition, cancellationToken);
    }

    /// <summary>Creates and initialises one component, bounded by its <c>initTimeout</c>; null for secret stores.</summary>
    private async Task<IAsyncDisposable?> InitializeOneAsync(ComponentDefinition definition, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(definition.InitTimeout);
        switch (definition.Kind)
        {
            case "state":
                {
                    IStateStore store = definition.Type == "state.postgresql"
                        ? new PostgresV1StateStore(definition, loggerFactory.CreateLogger("dapr.contrib.state.postgresql"))
                        : new InMemoryStateStore(definition.Name);
                    return await InitOrDisposeAsync(store, store.InitAsync, timeout.Token);
                }

            case "pubsub":
                {
                    IPubSub pubsub = definition.Type == "pubsub.redis"
                        ? new RedisStreamsPubSub(definition, options.AppId, loggerFactory.CreateLogger("dapr.contrib.pubsub.redis"))
                        : new InMemoryPubSub(definition.Name, loggerFactory.CreateLogger("dapr.contrib.pubsub.in-memory"));
                    return await InitOrDisposeAsync(pubsub, pubsub.InitAsync, timeout.Token);
                }

            default:
                // Secret stores are resolved while loading YAML.
                return null;
        }
    }

    private static async Task<IAsyncDisposable> InitOrDisposeAsync(IAsyncDisposable component, Func<CancellationToken, Task> init, CancellationToken cancellationToken)
    {
        try
        {
            await init(cancellationToken);
            return component;
        }
        catch
        {
            await component.DisposeAsync();
            throw;
        }
    }

    private void Register(ComponentDefinition definition, IAsyncDisposable? component)
    {
        switch (component)
        {
            case IStateStore store:
                {
                    var isActorStore = definition.GetBool("actorStateStore");
                    var entry = new StateStoreEntry(store, new StateKeys(definition.Get("keyPrefix"), options.AppId, definition.Name, options.Namespace), definition, isActorStore);
                    if (isActorStore)
                    {
                        if (ActorStateStore is not null)
                        {
                            throw new ResourceException($"detected duplicate actor state store: {ActorStateStore.Definition.Name} and {definition.Name}");
                        }

                        ActorStateStore = entry;
                    }

                    stateStores[definition.Name] = entry;
                    break;
                }

            case IPubSub pubsub:
                pubSubs[definition.Name] = new PubSubEntry(pubsub, definition);
                break;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var entry in pubSubs.Values)
        {
            await entry.PubSub.DisposeAsync();
        }

        foreach (var entry in stateStores.Values)
        {
            await entry.Store.DisposeAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Component loaded: {Name} ({Type}/{Version})")]
    private static partial void LogLoaded(ILogger logger, string name, string type, string version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Error initializing component {Name}, ignored (ignoreErrors: true): {Error}")]
    private static partial void LogIgnoredInitError(ILogger logger, string name, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "No actor state store defined: actor hosting disabled, but invocation enabled")]
    private static partial void LogNoActorStore(ILogger logger);
}
