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

    public async Task<(GenerationsDocument? Document, string? ETag)> ReadAsync(CancellationToken cancellationToken)
    {
        using var response = await container.ReadItemStreamAsync(Id, new PartitionKey(Partition), cancellationToken: cancellationToken);
        observer.Observe("read-generations", response);
        if (CosmosDocuments.IsMissingDocument(response))
        {
            return (null, null);
        }

        CosmosDocuments.Ensure(response, "read-generations");
        var document = await System.Text.Json.JsonSerializer.DeserializeAsync<GenerationsDocument>(response.Content, CosmosDocuments.Json, cancellationToken);
        return (document, response.Headers.ETag);
    }

    public async Task<bool> TrySaveAsync(GenerationsDocument document, string? etag, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(document);
        using var body = CosmosDocuments.WithPartitionKey(document, Partition, Id);
        using var response = etag is null
            ? await container.CreateItemStreamAsync(body, new PartitionKey(Partition), cancellationToken: cancellationToken)
            : await container.ReplaceItemStreamAsync(body, Id, new PartitionKey(Partition), new ItemRequestOptions { IfMatchEtag = etag }, cancellationToken);
        observer.Observe("save-generations", response);
        if (CosmosDocuments.IsLostRace(response) || CosmosDocuments.IsMissingDocument(response))
        {
            return false;
        }

        CosmosDocuments.Ensure(response, "save-generations");
        return true;
    }
}
