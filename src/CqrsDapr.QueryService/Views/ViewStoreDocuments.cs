using CqrsDapr.Contracts;
using Dapr;
using Dapr.Client;

namespace CqrsDapr.QueryService.Views;

/// <summary>
/// How every document of the <c>viewstore</c> is written (product views, dead letters, the generations document):
/// JSON with <c>contentType: application/json</c> (stored as JSONB, which the query API needs) and first-write
/// concurrency — with an ETag the save succeeds only if the stored ETag still matches; without one it is an insert
/// that fails if the key exists (dapr-contract.md §3.4, §3.10).
/// </summary>
internal static class ViewStoreDocuments
{
    public static readonly IReadOnlyDictionary<string, string> Json = new Dictionary<string, string> { ["contentType"] = "application/json" };

    private static readonly StateOptions FirstWrite = new() { Concurrency = ConcurrencyMode.FirstWrite, Consistency = ConsistencyMode.Strong };

    /// <summary>Saves <paramref name="value"/> first-write-wins; false when another writer got there first.</summary>
    public static async Task<bool> TrySaveAsync<T>(DaprClient dapr, string key, T value, string? etag, CancellationToken cancellationToken)
    {
        try
        {
            return await dapr.TrySaveStateAsync(DaprNames.ViewStore, key, value, etag ?? string.Empty, FirstWrite, Json, cancellationToken);
        }
        catch (DaprException ex) when (IsInsertConflict(ex))
        {
            return false; // an etag mismatch, or an insert-only save that found the key already there
        }
    }

    /// <summary>
    /// An insert-only save that found the key: most stores answer Aborted, but state.postgresql (v1 and v2) answers the
    /// generic "no item was updated" as Internal (dapr-contract.md §3.3).
    /// </summary>
    public static bool IsInsertConflict(DaprException ex) => ex.InnerException switch
    {
        Grpc.Core.RpcException { StatusCode: Grpc.Core.StatusCode.Aborted or Grpc.Core.StatusCode.FailedPrecondition } => true,
        Grpc.Core.RpcException { StatusCode: Grpc.Core.StatusCode.Internal } error => error.Status.Detail.Contains("no item was updated", StringComparison.Ordinal),
        _ => false,
    };
}
