using System.Text;
using System.Text.Json;
using CqrsDapr.DaprEmulator.Hosting;
using CqrsDapr.DaprEmulator.State;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.DaprEmulator.Actors;

/// <summary>An operation of <c>PUT /v1.0/actors/{type}/{id}/state</c> as sent: <c>{"operation": …, "request": {…}}</c>.</summary>
internal sealed record ActorStateOperation(string? Operation, JsonElement? Request);

/// <summary>Actor state (daprd 1.16 <c>pkg/actors/state/state.go</c>, <c>pkg/actors/api/transactional.go</c>).</summary>
internal sealed partial class ActorRuntime
{
    /// <summary>The feature that allows <c>ttlInSeconds</c> on actor state (Configuration <c>features</c>).</summary>
    public const string ActorStateTtlFeature = "ActorStateTTL";

    /// <summary>
    /// <c>GET /v1.0/actors/{type}/{id}/state/{key}</c>: the stored value (raw JSON) or null when there is none.
    /// daprd 1.16 does not check that the actor is active for reads.
    /// </summary>
    public async Task<StateEntry?> GetStateAsync(string actorType, string actorId, string key, CancellationToken cancellationToken)
    {
        var store = RequireStore();
        await ready.Task.WaitAsync(cancellationToken);
        try
        {
            var entry = await store.GetAsync(StateKeys.ActorKey(appId, actorType, actorId, key), cancellationToken);
            LogStateRead(logger, actorType, actorId, key, entry is not null);
            return entry;
        }
        catch (Exception ex) when (ex is not (DaprApiException or OperationCanceledException))
        {
            LogStateFailed(logger, actorType, actorId, ex.Message);
            throw ActorErrors.StateGet(ex.Message);
        }
    }

    /// <summary>
    /// <c>PUT|POST /v1.0/actors/{type}/{id}/state</c>: all operations in one store transaction, only for an actor that
    /// is active on this sidecar (<c>ERR_ACTOR_INSTANCE_MISSING</c> otherwise), with keys <c>appId||type||id||key</c> and
    /// <c>partitionKey</c> metadata <c>appId||type||id</c>.
    /// </summary>
    public async Task SaveStateAsync(string actorType, string actorId, IReadOnlyList<ActorStateOperation> operations, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(operations);
        var store = RequireStore();
        await ready.Task.WaitAsync(cancellationToken);
        if (!table.ContainsKey(new ActorKey(actorType, actorId)))
        {
            LogStateFailed(logger, actorType, actorId, "actor instance is missing");
            throw ActorErrors.InstanceMissing();
        }

        var partitionKey = string.Join(StateKeys.Separator, appId, actorType, actorId);
        var storeOperations = new List<StateOperation>(operations.Count);
        try
        {
            foreach (var operation in operations)
            {
                storeOperations.Add(ToStoreOperation(operation, actorType, actorId, partitionKey));
            }

            await store.TransactAsync(storeOperations, cancellationToken);
            LogStateSaved(logger, actorType, actorId, storeOperations.Count);
        }
        catch (Exception ex) when (ex is not (DaprApiException or OperationCanceledException))
        {
            LogStateFailed(logger, actorType, actorId, ex.Message);
            throw ActorErrors.StateTransactionSave(ex.Message);
        }
    }

    private StateOperation ToStoreOperation(ActorStateOperation operation, string actorType, string actorId, string partitionKey)
    {
        if (operation.Request is not { ValueKind: JsonValueKind.Object } request)
        {
            throw new FormatException("request data is empty");
        }

        if (string.IsNullOrEmpty(operation.Operation))
        {
            throw new FormatException("operation is empty");
        }

        var key = Field(request, "key") is { ValueKind: JsonValueKind.String } k ? k.GetString()! : "";
        var etag = Field(request, "etag") is { ValueKind: JsonValueKind.String } e ? e.GetString() : null;
        switch (operation.Operation)
        {
            case "upsert":
                {
                    if (key.Length == 0)
                    {
                        throw new FormatException("missing key");
                    }

                    var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
                    if (Field(request, "metadata") is { ValueKind: JsonValueKind.Object } md)
                    {
                        foreach (var item in md.EnumerateObject())
                        {
                            metadata[item.Name] = item.Value.ValueKind == JsonValueKind.String
                                ? item.Value.GetString()!
                                : throw new FormatException($"'metadata[{item.Name}]' expected type 'string', got '{item.Value.ValueKind}'");
                        }
                    }

                    if (metadata.ContainsKey("ttlInSeconds") && !features.Contains(ActorStateTtlFeature))
                    {
                        throw new FormatException($"ttlInSeconds is not supported without the \"{ActorStateTtlFeature}\" feature enabled");
                    }

                    metadata["partitionKey"] = partitionKey;
                    var value = Field(request, "value") is { } v ? Encoding.UTF8.GetBytes(v.GetRawText()) : "null"u8.ToArray();
                    return new StateOperation(
                        new StateSet(StateKeys.ActorKey(appId, actorType, actorId, key), StateValue.Json(value), etag, StateConcurrency.Unspecified, metadata),
                        null);
                }

            case "delete":
                if (key.Length == 0)
                {
                    throw new FormatException("missing key");
                }

                return new StateOperation(
                    null,
                    new StateDelete(StateKeys.ActorKey(appId, actorType, actorId, key), etag, StateConcurrency.Unspecified, new Dictionary<string, string> { ["partitionKey"] = partitionKey }));

            default:
                throw new FormatException($"operation type {operation.Operation} not supported");
        }
    }

    /// <summary>Field names match case-insensitively, as mapstructure decodes them in daprd.</summary>
    private static JsonElement? Field(JsonElement obj, string name)
    {
        foreach (var property in obj.EnumerateObject())
        {
            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return property.Value;
            }
        }

        return null;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Actor state {ActorType}||{ActorId} key {Key} read (found: {Found})")]
    private static partial void LogStateRead(ILogger logger, string actorType, string actorId, string key, bool found);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Actor state {ActorType}||{ActorId}: {Count} operation(s) saved")]
    private static partial void LogStateSaved(ILogger logger, string actorType, string actorId, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Actor state {ActorType}||{ActorId} failed: {Error}")]
    private static partial void LogStateFailed(ILogger logger, string actorType, string actorId, string error);
}
