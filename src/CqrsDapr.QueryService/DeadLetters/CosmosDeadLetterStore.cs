using CqrsDapr.QueryService.Views;
using CqrsDapr.QueryService.Views.Cosmos;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Options;

namespace CqrsDapr.QueryService.DeadLetters;

/// <summary>
/// Dead letters in the Cosmos DB views' container, partition <c>deadletter</c>, id = the dead letter's id; created
/// insert-only so a redelivery keeps the first record (409 → false); listed oldest first within the partition.
/// </summary>
internal sealed class CosmosDeadLetterStore(CosmosClient client, IOptions<CosmosViewStoreOptions> options, CosmosCallObserver observer) : IDeadLetterStore
{
    private readonly Container container = client.GetContainer(options.Value.Database, options.Value.Container);

    public async Task<bool> TryAddAsync(DeadLetter deadLetter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deadLetter);
        using var body = CosmosDocuments.WithPartitionKey(deadLetter, DeadLetter.Type);
        return await CosmosDocuments.TrySaveAsync(container, body, deadLetter.Id, DeadLetter.Type, etag: null, "add-dead-letter", observer, cancellationToken); // false: stored by an earlier delivery
    }

    public async Task<IReadOnlyList<DeadLetter>> ListAsync(int limit, CancellationToken cancellationToken)
    {
        var query = new QueryDefinition("SELECT TOP @limit * FROM c WHERE c.pk = @pk ORDER BY c.receivedAtKey ASC")
            .WithParameter("@limit", limit)
            .WithParameter("@pk", DeadLetter.Type);
        return await CosmosDocuments.ReadAllAsync<DeadLetter>(container, query, DeadLetter.Type, "list-dead-letters", observer, cancellationToken);
    }
}
