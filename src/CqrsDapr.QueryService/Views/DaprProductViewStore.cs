using CqrsDapr.Contracts;
using CqrsDapr.QueryService.Products;
using Dapr;
using Dapr.Client;

namespace CqrsDapr.QueryService.Views;

/// <summary>
/// Product views in the Dapr state store <c>viewstore</c> (state.postgresql v1 on the read database). Values are saved
/// as JSON with <c>contentType: application/json</c> (stored as JSONB, which the query API needs) and written with
/// first-write concurrency: with an ETag the save succeeds only if the stored ETag still matches; without one it is an
/// insert that fails if the key exists (dapr-contract.md §3.4, §3.10).
/// </summary>
internal sealed class DaprProductViewStore(DaprClient dapr) : IProductViewStore
{
    private static readonly Dictionary<string, string> JsonContent = new() { ["contentType"] = "application/json" };
    private static readonly StateOptions FirstWrite = new() { Concurrency = ConcurrencyMode.FirstWrite, Consistency = ConsistencyMode.Strong };

    public static string KeyOf(Guid id) => $"{ProductView.Type}|{id:D}";

    public async Task<StoredView?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        var (view, etag) = await dapr.GetStateAndETagAsync<ProductView?>(DaprNames.ViewStore, KeyOf(id), metadata: JsonContent, cancellationToken: cancellationToken);
        return view is null || string.IsNullOrEmpty(etag) ? null : new StoredView(view, etag);
    }

    public async Task<bool> TrySaveAsync(ProductView view, string? etag, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(view);
        try
        {
            return await dapr.TrySaveStateAsync(DaprNames.ViewStore, KeyOf(view.Id), view, etag ?? string.Empty, FirstWrite, JsonContent, cancellationToken);
        }
        catch (DaprException ex) when (IsInsertConflict(ex))
        {
            return false; // an etag-less (insert-only) save found the key already there
        }
    }

    public Task<ProductPage> QueryAsync(ProductQuery query, CancellationToken cancellationToken) =>
        throw new NotImplementedException("The query half of the view store is built with the list endpoint.");

    /// <summary>
    /// An insert-only save that found the key: most stores answer Aborted, but state.postgresql (v1 and v2) answers the
    /// generic "no item was updated" as Internal (dapr-contract.md §3.3).
    /// </summary>
    internal static bool IsInsertConflict(DaprException ex) => ex.InnerException switch
    {
        Grpc.Core.RpcException { StatusCode: Grpc.Core.StatusCode.Aborted or Grpc.Core.StatusCode.FailedPrecondition } => true,
        Grpc.Core.RpcException { StatusCode: Grpc.Core.StatusCode.Internal } error => error.Status.Detail.Contains("no item was updated", StringComparison.Ordinal),
        _ => false,
    };
}
