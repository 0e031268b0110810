namespace CqrsDapr.DaprEmulator.State;

/// <summary>
/// A value as the store receives it from daprd (1.16): either raw bytes (gRPC <c>SaveState</c> without
/// <c>contentType: application/json</c>) or a structured JSON value (HTTP API, or gRPC with that content type).
/// </summary>
internal readonly record struct StateValue(ReadOnlyMemory<byte> Data, bool IsBinary)
{
    public static StateValue Binary(ReadOnlyMemory<byte> bytes) => new(bytes, true);

    /// <summary>UTF-8 JSON text of a structured value.</summary>
    public static StateValue Json(ReadOnlyMemory<byte> utf8Json) => new(utf8Json, false);
}

/// <summary>Concurrency option of a write (proto <c>StateOptions.StateConcurrency</c>).</summary>
internal enum StateConcurrency
{
    Unspecified = 0,
    FirstWrite = 1,
    LastWrite = 2,
}

/// <summary>A stored entry: the bytes returned to the caller and its ETag.</summary>
internal sealed record StateEntry(ReadOnlyMemory<byte> Data, string ETag, DateTimeOffset? ExpiresAt = null);

/// <summary>An upsert; <see cref="Key"/> is the stored key, already prefixed.</summary>
internal sealed record StateSet(
    string Key,
    StateValue Value,
    string? ETag,
    StateConcurrency Concurrency,
    IReadOnlyDictionary<string, string> Metadata)
{
    public bool HasETag => !string.IsNullOrEmpty(ETag);

    public int? TtlSeconds => Metadata.TryGetValue("ttlInSeconds", out var ttl) && int.TryParse(ttl, System.Globalization.CultureInfo.InvariantCulture, out var s) ? s : null;
}

/// <summary>A delete; <see cref="Key"/> is the stored key, already prefixed.</summary>
internal sealed record StateDelete(string Key, string? ETag, StateConcurrency Concurrency, IReadOnlyDictionary<string, string> Metadata)
{
    public bool HasETag => !string.IsNullOrEmpty(ETag);
}

/// <summary>One operation of a transaction: exactly one of the two is set.</summary>
internal sealed record StateOperation(StateSet? Set, StateDelete? Delete);

/// <summary>What a store can do (components-contrib <c>state.Feature</c>).</summary>
[Flags]
internal enum StateFeatures
{
    None = 0,
    ETag = 1,
    Transactional = 2,
    Query = 4,
    Ttl = 8,
}

/// <summary>One result row of a state query; <see cref="Key"/> is the stored key (prefix not yet stripped).</summary>
internal sealed record QueryItem(string Key, ReadOnlyMemory<byte> Data, string ETag);

internal sealed record QueryResponse(IReadOnlyList<QueryItem> Results, string? Token);

/// <summary>A state store component (components-contrib <c>state.Store</c> as daprd 1.16 uses it).</summary>
internal interface IStateStore : IAsyncDisposable
{
    string Name { get; }

    StateFeatures Features { get; }

    Task InitAsync(CancellationToken cancellationToken);

    Task<StateEntry?> GetAsync(string key, CancellationToken cancellationToken);

    /// <summary>Throws <see cref="StateETagMismatchException"/> or <see cref="StateETagInvalidException"/> on ETag problems.</summary>
    Task SetAsync(StateSet request, CancellationToken cancellationToken);

    Task DeleteAsync(StateDelete request, CancellationToken cancellationToken);

    /// <summary>All or nothing. Only called when <see cref="StateFeatures.Transactional"/> is set.</summary>
    Task TransactAsync(IReadOnlyList<StateOperation> operations, CancellationToken cancellationToken);

    /// <summary>Only called when <see cref="StateFeatures.Query"/> is set.</summary>
    Task<QueryResponse> QueryAsync(StateQuery query, CancellationToken cancellationToken);
}

/// <summary>One item of a native bulk get; <see cref="Key"/> is the stored key. A missing key has no data and no ETag.</summary>
internal sealed record BulkGetEntry(string Key, ReadOnlyMemory<byte> Data, string? ETag, DateTimeOffset? ExpiresAt, string? Error);

/// <summary>
/// A store with its own <c>BulkGet</c> (components-contrib <c>state.BulkStore</c> overridden by the store). daprd 1.16
/// returns its items as the store produced them, in the store's order; stores without it get daprd's default
/// (parallel single gets, request order).
/// </summary>
internal interface IBulkGetStateStore
{
    Task<IReadOnlyList<BulkGetEntry>> BulkGetAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken);
}

/// <summary>The write's ETag does not match the stored one (daprd: gRPC <c>Aborted</c>, HTTP 409).</summary>
internal sealed class StateETagMismatchException(string message) : Exception(message);

/// <summary>The write's ETag has a form the store cannot read (daprd: gRPC <c>InvalidArgument</c>, HTTP 400).</summary>
internal sealed class StateETagInvalidException(string message) : Exception(message);
