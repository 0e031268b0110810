using CqrsDapr.Contracts;
using Dapr.Client;

namespace CqrsDapr.QueryService.Views;

/// <summary>Where the one <see cref="GenerationsDocument"/> lives: beside the views, in the same store.</summary>
internal interface IGenerationsStore
{
    /// <summary>The stored document and its ETag; (null, null) when none is stored yet.</summary>
    Task<(GenerationsDocument? Document, string? ETag)> ReadAsync(CancellationToken cancellationToken);

    /// <summary>Saves if the stored document still has <paramref name="etag"/> (null: only if none exists); false when another writer got there first.</summary>
    Task<bool> TrySaveAsync(GenerationsDocument document, string? etag, CancellationToken cancellationToken);
}

/// <summary>The generations document in the Dapr state store <c>viewstore</c>, key <see cref="GenerationsDocument.Key"/>.</summary>
internal sealed class DaprGenerationsStore(DaprClient dapr) : IGenerationsStore
{
    public async Task<(GenerationsDocument? Document, string? ETag)> ReadAsync(CancellationToken cancellationToken)
    {
        var (document, etag) = await dapr.GetStateAndETagAsync<GenerationsDocument?>(DaprNames.ViewStore, GenerationsDocument.Key, metadata: ViewStoreDocuments.Json, cancellationToken: cancellationToken);
        return document is null || string.IsNullOrEmpty(etag) ? (null, null) : (document, etag);
    }

    public Task<bool> TrySaveAsync(GenerationsDocument document, string? etag, CancellationToken cancellationToken) =>
        ViewStoreDocuments.TrySaveAsync(dapr, GenerationsDocument.Key, document, etag, cancellationToken);
}
