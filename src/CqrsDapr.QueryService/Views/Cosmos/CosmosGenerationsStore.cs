using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Options;

namespace CqrsDapr.QueryService.Views.Cosmos;

/// <summary>
/// The generations document in the views' container: partition <c>meta</c>, id <c>product-generations</c>, saved
/// first-write-wins on its ETag like the views.
/// </summary>
internal sealed class CosmosGenerationsStore(CosmosClient client, IOptions<CosmosViewStoreOptions> options, CosmosCallObserver observer) : IGenerationsStore
{
    public const string Partition = "meta";
    public const string Id = "product-generations";

    private readonly Container container = client.GetContainer(options.Value.Database, options.Value.Container);

    public Task<(GenerationsDocument? Document, string? ETag)> ReadAsync(CancellationToken cancellationToken) =>
        CosmosDocuments.ReadAsync<GenerationsDocument>(container, Id, Partition, "read-generations", observer, cancellationToken);

    public async Task<bool> TrySaveAsync(GenerationsDocument document, string? etag, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(document);
        using var body = CosmosDocuments.WithPartitionKey(document, Partition, Id);
        return await CosmosDocuments.TrySaveAsync(container, body, Id, Partition, etag, "save-generations", observer, cancellationToken);
    }
}
