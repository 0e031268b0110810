using System.Text.Json;
using CqrsDapr.DaprEmulator.Components;
using CqrsDapr.DaprEmulator.Hosting;

namespace CqrsDapr.DaprEmulator.State;

/// <summary>A state item as an API request carries it, before key prefixing.</summary>
internal sealed record StateSaveItem(string Key, StateValue Value, string? ETag, StateConcurrency Concurrency, IReadOnlyDictionary<string, string> Metadata);

internal sealed record StateDeleteItem(string Key, string? ETag, StateConcurrency Concurrency, IReadOnlyDictionary<string, string> Metadata);

internal sealed record BulkGetItem(string Key, ReadOnlyMemory<byte> Data, string ETag, string? Error);

/// <summary>A transaction operation as the API carries it: <c>upsert</c> or <c>delete</c>.</summary>
internal sealed record StateTransactionItem(string OperationType, string Key, StateValue Value, string? ETag, StateConcurrency Concurrency, IReadOnlyDictionary<string, string> Metadata);

/// <summary>
/// The state building block shared by the gRPC and HTTP APIs: store lookup, key prefixing, value encoding and
/// daprd 1.16's error mapping (<c>pkg/api/grpc/grpc.go</c>, <c>pkg/api/http/http.go</c>).
/// </summary>
internal sealed class StateApi(ComponentRegistry registry)
{
    public StateStoreEntry Resolve(string storeName)
    {
        if (registry.StateStores.Count == 0)
        {
            throw DaprApiException.StateStoresNotConfigured();
        }

        return registry.StateStores.TryGetValue(storeName ?? "", out var entry)
            ? entry
            : throw DaprApiException.StateStoreNotFound(storeName ?? "");
    }

    /// <summary>
    /// gRPC values are bytes; with item metadata <c>contentType: application/json</c> daprd decodes them first and the
    /// store receives a structured value (1.16 <c>SaveState</c>). The HTTP API always sends structured JSON.
    /// </summary>
    public static StateValue FromGrpcBytes(ReadOnlyMemory<byte> bytes, IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        if (metadata.TryGetValue("contentType", out var contentType) && string.Equals(contentType, "application/json", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                using var doc = JsonDocument.Parse(bytes);
            }
            catch (JsonException ex)
            {
                throw DaprApiException.MalformedRequest(ex.Message);
            }

            return StateValue.Json(bytes);
        }

        return StateValue.Binary(bytes);
    }

    public async Task<StateEntry?> GetAsync(string storeName, string key, CancellationToken cancellationToken)
    {
        var entry = Resolve(storeName);
        var stored = StoredKey(entry, key);
        try
        {
            return await entry.Store.GetAsync(stored, cancellationToken);
        }
        catch (Exception ex) when (ex is not (DaprApiException or OperationCanceledException))
        {
            throw DaprApiException.StateGet(key, storeName, ex.Message);
        }
    }

    public async Task<IReadOnlyList<BulkGetItem>> GetBulkAsync(string storeName, IReadOnlyList<string> keys, int parallelism, CancellationToken cancellationToken)
    {
        var entry = Resolve(storeName);
        if (keys.Count == 0)
        {
            return [];
        }

        if (entry.Store is IBulkGetStateStore native)
        {
            // daprd 1.16 calls the store's own BulkGet and returns its items as they come (store order, not request order).
            var stored = keys.Select(k => StoredKey(entry, k)).ToList();
            IReadOnlyList<BulkGetEntry> found;
            try
            {
                found = await native.BulkGetAsync(stored, cancellationToken);
            }
            catch (Exception ex) when (ex is not (DaprApiException or OperationCanceledException))
            {
                throw new DaprApiException("ERR_STATE_BULK_GET", $"failed getting state in bulk from state store {storeName}: {ex.Message}", Grpc.Core.StatusCode.Internal, 500);
            }

            return found.Select(f => new BulkGetItem(StateKeys.ToOriginal(f.Key), f.Data, f.ETag ?? "", f.Error)).ToList();
        }

        var results = new BulkGetItem[keys.Count];
        var options = new ParallelOptions { MaxDegreeOfParallelism = parallelism > 0 ? parallelism : 100, CancellationToken = cancellationToken };
        await Parallel.ForAsync(0, keys.Count, options, async (i, ct) =>
        {
            try
            {
                var found = await entry.Store.GetAsync(StoredKey(entry, keys[i]), ct);
                results[i] = new BulkGetItem(keys[i], found?.Data ?? ReadOnlyMemory<byte>.Empty, found?.ETag ?? "", null);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Per-item errors, not a failed call (daprd 1.16 GetBulkState).
                results[i] = new BulkGetItem(keys[i], ReadOnlyMemory<byte>.Empty, "", ex.Message);
            }
        });
        return results;
    }

    public async Task SaveAsync(string storeName, IReadOnlyList<StateSaveItem> items, CancellationToken cancellationToken)
    {
        var entry = Resolve(storeName);
        if (items.Any(i => string.IsNullOrEmpty(i.Key)))
        {
            throw new DaprApiException("ERR_STATE_SAVE", "state key cannot be empty", Grpc.Core.StatusCode.InvalidArgument, 400);
        }

        var requests = items.Select(i => new StateSet(StoredKey(entry, i.Key), i.Value, i.ETag, i.Concurrency, i.Metadata)).ToList();
        var failure = await RunBulkAsync(requests, r => entry.Store.SetAsync(r, cancellationToken));
        switch (failure)
        {
            case null:
                return;
            case { ETag: StateETagMismatchException }:
                throw DaprApiException.ETagMismatch($"failed saving state in state store {storeName}: {failure.Message}");
            case { ETag: StateETagInvalidException }:
                throw DaprApiException.ETagInvalid($"failed saving state in state store {storeName}: {failure.Message}");
            default:
                throw DaprApiException.StateSave(storeName, failure.Message);
        }
    }

    public async Task DeleteAsync(string storeName, IReadOnlyList<StateDeleteItem> items, CancellationToken cancellationToken)
    {
        var entry = Resolve(storeName);
        var requests = items.Select(i => new StateDelete(StoredKey(entry, i.Key), i.ETag, i.Concurrency, i.Metadata)).ToList();
        var failure = await RunBulkAsync(requests, r => entry.Store.DeleteAsync(r, cancellationToken));
        var key = items.Count == 1 ? items[0].Key : storeName;
        switch (failure)
        {
            case null:
                return;
            case { ETag: StateETagMismatchException }:
                throw DaprApiException.ETagMismatch($"failed deleting state with key {key}: {failure.Message}");
            case { ETag: StateETagInvalidException }:
                throw DaprApiException.ETagInvalid($"failed deleting state with key {key}: {failure.Message}");
            default:
                throw DaprApiException.StateDelete(key, failure.Message);
        }
    }

    /// <summary>
    /// daprd 1.16 (<c>PerformBulkStoreOperation</c>): one item is a single store call; several go through the store's
    /// <c>BulkSet</c>/<c>BulkDelete</c>, by default every item in parallel, each succeeding or failing on its own (not a
    /// transaction), the errors joined. The first ETag error in request order decides the status code.
    /// </summary>
    private static async Task<BulkFailure?> RunBulkAsync<T>(IReadOnlyList<T> requests, Func<T, Task> operation)
    {
        var errors = new Exception?[requests.Count];
        await Task.WhenAll(requests.Select(async (request, i) =>
        {
            try
            {
                await operation(request);
            }
            catch (Exception ex) when (ex is not (DaprApiException or OperationCanceledException))
            {
                errors[i] = ex;
            }
        }));

        var failed = errors.OfType<Exception>().ToList();
        return failed.Count == 0
            ? null
            : new BulkFailure(
                string.Join('\n', failed.Select(e => e.Message)),
                failed.FirstOrDefault(e => e is StateETagMismatchException or StateETagInvalidException));
    }

    public async Task TransactAsync(string storeName, IReadOnlyList<StateTransactionItem> items, CancellationToken cancellationToken)
    {
        var entry = Resolve(storeName);
        if (!entry.Store.Features.HasFlag(StateFeatures.Transactional))
        {
            throw DaprApiException.NotTransactional(storeName);
        }

        var operations = new List<StateOperation>(items.Count);
        foreach (var item in items)
        {
            var key = StoredKey(entry, item.Key);
            operations.Add(item.OperationType switch
            {
                "upsert" => new StateOperation(new StateSet(key, item.Value, item.ETag, item.Concurrency, item.Metadata), null),
                "delete" => new StateOperation(null, new StateDelete(key, item.ETag, item.Concurrency, item.Metadata)),
                _ => throw new DaprApiException("ERR_NOT_SUPPORTED_STATE_OPERATION", $"operation type {item.OperationType} not supported", Grpc.Core.StatusCode.Unimplemented, 400),
            });
        }

        try
        {
            await entry.Store.TransactAsync(operations, cancellationToken);
        }
        catch (Exception ex) when (ex is not (DaprApiException or OperationCanceledException))
        {
            // daprd 1.16: every failure inside a transaction, ETag mismatch included, is ERR_STATE_TRANSACTION (Internal).
            throw DaprApiException.StateTransaction(ex.Message);
        }
    }

    public async Task<QueryResponse> QueryAsync(string storeName, ReadOnlyMemory<byte> queryJson, CancellationToken cancellationToken)
    {
        var entry = Resolve(storeName);
        if (!entry.Store.Features.HasFlag(StateFeatures.Query))
        {
            throw DaprApiException.QueryNotSupported(storeName);
        }

        // daprd 1.16 (universal QueryStateAlpha1): a query that does not parse is a failed query (Internal, 500), not a
        // malformed request.
        StateQuery query;
        try
        {
            query = StateQuery.Parse(queryJson.Span);
        }
        catch (StateQueryException ex)
        {
            throw DaprApiException.QueryFailed(storeName, $"failed to parse JSON query body: {ex.Message}");
        }

        try
        {
            var response = await entry.Store.QueryAsync(query, cancellationToken);

            // An empty page is answered with an empty response: no results and no token, whatever the store said.
            return response.Results.Count == 0
                ? new QueryResponse([], null)
                : response with { Results = response.Results.Select(r => r with { Key = StateKeys.ToOriginal(r.Key) }).ToList() };
        }
        catch (StateQueryException ex)
        {
            throw DaprApiException.QueryFailed(storeName, ex.Message);
        }
        catch (Exception ex) when (ex is not (DaprApiException or OperationCanceledException))
        {
            throw DaprApiException.QueryFailed(storeName, ex.Message);
        }
    }

    private static string StoredKey(StateStoreEntry entry, string key)
    {
        try
        {
            return entry.Keys.ToStored(key);
        }
        catch (ArgumentException ex)
        {
            throw new DaprApiException("ERR_MALFORMED_REQUEST", ex.Message, Grpc.Core.StatusCode.InvalidArgument, 400);
        }
    }

    private sealed record BulkFailure(string Message, Exception? ETag);
}
