using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using CqrsDapr.QueryService.Products;
using Microsoft.Azure.Cosmos;

namespace CqrsDapr.QueryService.Views.Cosmos;

/// <summary>
/// Product views of one generation in an Azure Cosmos DB container (see README.md beside this file). A document is the
/// view's JSON (the same camelCase names as in the Dapr store) plus its partition key <c>pk</c> =
/// <c>{viewType}|{bucket}</c>; its <c>id</c> is the product id. Saves are first-write-wins on the document's ETag
/// (create when there is none, replace with <c>If-Match</c> otherwise: 409/412 are a lost race); reads and writes use
/// the stream API (no exceptions on expected statuses, System.Text.Json both ways). Lists ask every bucket for one
/// keyset page in parallel and merge; the page token is the same keyset token the Dapr store issues.
/// </summary>
internal sealed class CosmosProductViewStore(Container container, CosmosViewStoreOptions options, CosmosCallObserver observer, int generation = 1) : IProductViewStore
{
    /// <summary>Ids a cleanup reads per round before deleting them.</summary>
    private const int DeleteRound = 500;

    private readonly string viewType = ProductView.TypeIn(generation);

    public int Generation => generation;

    /// <summary>The logical partition of <paramref name="id"/>'s view in this generation.</summary>
    public string PartitionOf(Guid id) => PartitionOf(BucketOf(id, options.PartitionBuckets));

    private string PartitionOf(int bucket) => string.Create(CultureInfo.InvariantCulture, $"{viewType}|{bucket}");

    /// <summary>
    /// A fixed hash of the id: its last 8 bytes (random in the version 7 ids the command side issues) modulo the bucket
    /// count. The same in every process and release: a view's partition key must never change.
    /// </summary>
    public static int BucketOf(Guid id, int buckets)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes, bigEndian: true, out _);
        return (int)(BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]) % (ulong)buckets);
    }

    public async Task<StoredView?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        var (view, etag) = await CosmosDocuments.ReadAsync<ProductView>(container, Id(id), PartitionOf(id), "read", observer, cancellationToken);
        return view is null ? null : new StoredView(view, etag!);
    }

    public async Task<bool> TrySaveAsync(ProductView view, string? etag, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(view);
        var partition = PartitionOf(view.Id);
        using var document = CosmosDocuments.WithPartitionKey(view with { ViewType = viewType }, partition);
        return await CosmosDocuments.TrySaveAsync(container, document, Id(view.Id), partition, etag, etag is null ? "create" : "replace", observer, cancellationToken);
    }

    /// <summary>
    /// Point reads, <see cref="CosmosViewStoreOptions.BulkConcurrency"/> at a time: one RU each for a view under 1 KB,
    /// less than a query for scattered ids would cost.
    /// </summary>
    public async Task<IReadOnlyDictionary<Guid, StoredView>> GetManyAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var found = new ConcurrentDictionary<Guid, StoredView>(Environment.ProcessorCount, ids.Count);
        await Parallel.ForEachAsync(ids, Concurrently(cancellationToken), async (id, ct) =>
        {
            if (await GetAsync(id, ct) is { } view)
            {
                found[id] = view;
            }
        });
        return found;
    }

    /// <summary>Every save runs (a lost race does not stop the others), <see cref="CosmosViewStoreOptions.BulkConcurrency"/> at a time.</summary>
    public async Task<bool> TrySaveManyAsync(IReadOnlyList<(ProductView View, string? ETag)> views, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(views);
        var lost = 0;
        await Parallel.ForEachAsync(views, Concurrently(cancellationToken), async (item, ct) =>
        {
            if (!await TrySaveAsync(item.View, item.ETag, ct))
            {
                Interlocked.Increment(ref lost);
            }
        });
        return lost == 0;
    }

    /// <summary>
    /// Reads up to <see cref="DeleteRound"/> ids of each bucket and deletes them, until none is left (always from the
    /// start: no continuation is kept across deletes).
    /// </summary>
    public async Task<long> DeleteAllAsync(CancellationToken cancellationToken)
    {
        long deleted = 0;
        for (var bucket = 0; bucket < options.PartitionBuckets; bucket++)
        {
            var partition = PartitionOf(bucket);
            var query = new QueryDefinition("SELECT TOP @take VALUE c.id FROM c WHERE c.pk = @pk")
                .WithParameter("@take", DeleteRound)
                .WithParameter("@pk", partition);
            while (true)
            {
                var ids = await CosmosDocuments.ReadAllAsync<string>(container, query, partition, "delete-scan", observer, cancellationToken);
                if (ids.Count == 0)
                {
                    break;
                }

                await Parallel.ForEachAsync(ids, Concurrently(cancellationToken), async (id, ct) =>
                {
                    using var response = await container.DeleteItemStreamAsync(id, new PartitionKey(partition), cancellationToken: ct);
                    observer.Observe("delete", response);
                    if (!CosmosDocuments.IsMissingDocument(response))
                    {
                        CosmosDocuments.Ensure(response, "delete");
                    }
                });
                deleted += ids.Count;
            }
        }

        return deleted;
    }

    public async Task<ProductPage> QueryAsync(ProductQuery query, CancellationToken cancellationToken)
    {
        var token = ProductPageToken.Of(query);

        var order = new ProductSortOrder(query.Sort);
        var take = query.PageSize + 1;
        var text = QueryText(order, query, token);
        var buckets = await Task.WhenAll(Enumerable.Range(0, options.PartitionBuckets).Select(bucket =>
        {
            var partition = PartitionOf(bucket);
            var definition = Parameters(new QueryDefinition(text), query, token, take).WithParameter("@pk", partition);
            return CosmosDocuments.ReadAllAsync<ProductView>(container, definition, partition, "query", observer, cancellationToken);
        }));

        // Each bucket's page is in order; the first `take` of all of them together are this page and one more.
        var views = buckets.SelectMany(b => b).Order(order).Take(take).ToList();
        if (views.Count <= query.PageSize)
        {
            return new ProductPage(views, null);
        }

        var last = views[query.PageSize - 1];
        var next = new ProductPageToken(query.Sort, order.KeyOf(last), last.Id, ProductPageToken.FingerprintOf(query), Hint: 0);
        return new ProductPage(views[..query.PageSize], next.Encode());
    }

    /// <summary>
    /// The list query of one bucket: parameters only (the sort field and direction come from <see cref="ProductSortOrder"/>,
    /// never from the request). After a token: rows strictly past its (key, id) in the sort order.
    /// </summary>
    private static string QueryText(ProductSortOrder order, ProductQuery query, ProductPageToken? token)
    {
        var text = new StringBuilder("SELECT TOP @take * FROM c WHERE c.pk = @pk AND c.deleted = false");
        if (query.Category is not null)
        {
            text.Append(" AND c.category = @category");
        }

        if (query.MinPrice is not null)
        {
            text.Append(" AND c.priceKey >= @minPrice");
        }

        if (query.MaxPrice is not null)
        {
            text.Append(" AND c.priceKey <= @maxPrice");
        }

        var field = order.Field;
        var direction = order.Descending ? "DESC" : "ASC";
        if (token is not null)
        {
            var past = order.Descending ? "<" : ">";
            text.Append(CultureInfo.InvariantCulture, $" AND (c.{field} {past} @lastKey OR (c.{field} = @lastKey AND c.id {past} @lastId))");
        }

        text.Append(CultureInfo.InvariantCulture, $" ORDER BY c.{field} {direction}, c.id {direction}");
        return text.ToString();
    }

    private static QueryDefinition Parameters(QueryDefinition definition, ProductQuery query, ProductPageToken? token, int take)
    {
        definition = definition.WithParameter("@take", take);
        if (query.Category is not null)
        {
            definition = definition.WithParameter("@category", query.Category);
        }

        if (query.MinPrice is { } min)
        {
            definition = definition.WithParameter("@minPrice", ProductViewKeys.Price(min));
        }

        if (query.MaxPrice is { } max)
        {
            definition = definition.WithParameter("@maxPrice", ProductViewKeys.Price(max));
        }

        if (token is not null)
        {
            definition = definition.WithParameter("@lastKey", token.LastKey).WithParameter("@lastId", Id(token.LastId));
        }

        return definition;
    }

    private static string Id(Guid id) => id.ToString("D");

    private ParallelOptions Concurrently(CancellationToken cancellationToken) =>
        new() { MaxDegreeOfParallelism = options.BulkConcurrency, CancellationToken = cancellationToken };
}
