using System.Globalization;

namespace CqrsDapr.DaprEmulator.State;

/// <summary>
/// <c>state.in-memory</c> (components-contrib 1.16): process-local, ETags are a per-key version counter,
/// transactions are atomic, TTL supported, no query API (daprd answers "not supported").
/// </summary>
internal sealed class InMemoryStateStore(string name) : IStateStore
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, Item> items = new(StringComparer.Ordinal);
    private long version;

    public string Name { get; } = name;

    public StateFeatures Features => StateFeatures.ETag | StateFeatures.Transactional | StateFeatures.Ttl;

    public Task InitAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<StateEntry?> GetAsync(string key, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            return Task.FromResult(TryGetLive(key, out var item) ? new StateEntry(item.Data, item.ETag, item.ExpiresAt) : null);
        }
    }

    public Task SetAsync(StateSet request, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            ApplySet(request);
        }

        return Task.CompletedTask;
    }

    public Task DeleteAsync(StateDelete request, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            ApplyDelete(request);
        }

        return Task.CompletedTask;
    }

    public Task TransactAsync(IReadOnlyList<StateOperation> operations, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            // Validate every ETag first so a failing transaction changes nothing.
            foreach (var op in operations)
            {
                if (op.Set is { } set)
                {
                    CheckETag(set.Key, set.ETag, set.HasETag, set.Concurrency, isInsert: true);
                }
                else if (op.Delete is { } delete)
                {
                    CheckETag(delete.Key, delete.ETag, delete.HasETag, delete.Concurrency, isInsert: false);
                }
            }

            foreach (var op in operations)
            {
                if (op.Set is { } set)
                {
                    ApplySet(set);
                }
                else if (op.Delete is { } delete)
                {
                    ApplyDelete(delete);
                }
            }
        }

        return Task.CompletedTask;
    }

    public Task<QueryResponse> QueryAsync(StateQuery query, CancellationToken cancellationToken) =>
        throw new NotSupportedException("state store does not support querying");

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private void ApplySet(StateSet request)
    {
        CheckETag(request.Key, request.ETag, request.HasETag, request.Concurrency, isInsert: true);
        var ttl = request.TtlSeconds;
        items[request.Key] = new Item(
            request.Value.Data.ToArray(),
            (++version).ToString(CultureInfo.InvariantCulture),
            ttl is > 0 ? DateTimeOffset.UtcNow.AddSeconds(ttl.Value) : null);
    }

    private void ApplyDelete(StateDelete request)
    {
        CheckETag(request.Key, request.ETag, request.HasETag, request.Concurrency, isInsert: false);
        items.Remove(request.Key);
    }

    private void CheckETag(string key, string? etag, bool hasETag, StateConcurrency concurrency, bool isInsert)
    {
        var exists = TryGetLive(key, out var current);
        if (hasETag)
        {
            if (!exists || current.ETag != etag)
            {
                throw new StateETagMismatchException($"possible etag mismatch. error from state store: ETag mismatch for key {key}");
            }
        }
        else if (concurrency == StateConcurrency.FirstWrite && isInsert && exists)
        {
            throw new StateETagMismatchException($"possible etag mismatch. error from state store: key {key} already exists (first-write)");
        }
    }

    private bool TryGetLive(string key, out Item item)
    {
        if (items.TryGetValue(key, out item!))
        {
            if (item.ExpiresAt is { } expires && expires <= DateTimeOffset.UtcNow)
            {
                items.Remove(key);
                return false;
            }

            return true;
        }

        return false;
    }

    private sealed record Item(byte[] Data, string ETag, DateTimeOffset? ExpiresAt);
}
