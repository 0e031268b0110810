using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
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
/// <remarks>
/// Each generation has its own key prefix and <c>viewType</c> (<see cref="ProductView.TypeIn"/>); generation 1 keeps
/// the plain <c>product|{id}</c> keys.
/// </remarks>
internal sealed class DaprProductViewStore(DaprClient dapr, HttpClient sidecar, int generation = 1) : IProductViewStore
{
    private const int MaxBatch = 202;

    /// <summary>Views per bulk request: about 0.5 MB of JSON, far below the 4 MB message limits.</summary>
    private const int ChunkSize = 500;

    private const int ChunksInFlight = 4;
    private static readonly Uri SaveUri = new($"v1.0/state/{DaprNames.ViewStore}", UriKind.Relative);

    private readonly string viewType = ProductView.TypeIn(generation);

    public int Generation => generation;

    public string KeyOf(Guid id) => $"{viewType}|{id:D}";

    public async Task<StoredView?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        var (view, etag) = await dapr.GetStateAndETagAsync<ProductView?>(DaprNames.ViewStore, KeyOf(id), metadata: ViewStoreDocuments.Json, cancellationToken: cancellationToken);
        return view is null || string.IsNullOrEmpty(etag) ? null : new StoredView(view, etag);
    }

    public async Task<bool> TrySaveAsync(ProductView view, string? etag, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(view);
        try
        {
            return await ViewStoreDocuments.TrySaveAsync(dapr, KeyOf(view.Id), view with { ViewType = viewType }, etag, cancellationToken);
        }
        catch (DaprException) when (etag is null)
        {
            // postgresql v1 reports an insert-only save on an existing key as a generic Internal error ("no item was
            // updated", dapr-contract.md §3.3), indistinguishable by status from a real failure: the key being there
            // is what makes it a lost race. Anything else propagates.
            if (await GetAsync(view.Id, cancellationToken) is not null)
            {
                return false;
            }

            throw;
        }
    }

    public async Task<IReadOnlyDictionary<Guid, StoredView>> GetManyAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var found = new Dictionary<Guid, StoredView>(ids.Count);
        var chunks = await InChunksAsync(ids.Chunk(ChunkSize), chunk => GetChunkAsync(chunk, cancellationToken));
        foreach (var view in chunks.SelectMany(c => c))
        {
            found[view.View.Id] = view;
        }

        return found;
    }

    private async Task<IReadOnlyList<StoredView>> GetChunkAsync(Guid[] ids, CancellationToken cancellationToken)
    {
        var keys = ids.Select(KeyOf).ToList();
        var items = await dapr.GetBulkStateAsync<ProductView?>(DaprNames.ViewStore, keys, parallelism: null, ViewStoreDocuments.Json, cancellationToken);
        return [.. items.Where(i => i.Value is not null && !string.IsNullOrEmpty(i.ETag)).Select(i => new StoredView(i.Value!, i.ETag))];
    }

    /// <summary>
    /// Saves in chunks of <see cref="ChunkSize"/> (see <see cref="SaveChunkAsync"/>), a few at a time; true when every
    /// chunk saved every item.
    /// </summary>
    public async Task<bool> TrySaveManyAsync(IReadOnlyList<(ProductView View, string? ETag)> views, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(views);
        var saved = await InChunksAsync(views.Chunk(ChunkSize), chunk => SaveChunkAsync(chunk, cancellationToken));
        return saved.All(ok => ok);
    }

    /// <summary>
    /// Runs <paramref name="work"/> on every chunk, <see cref="ChunksInFlight"/> at a time. Chunks keep each request
    /// well under the sidecar's message limits (gRPC and HTTP bodies default to 4 MB in daprd and the SDK).
    /// </summary>
    private static async Task<List<T>> InChunksAsync<TChunk, T>(IEnumerable<TChunk> chunks, Func<TChunk, Task<T>> work)
    {
        var results = new List<T>();
        foreach (var wave in chunks.Chunk(ChunksInFlight))
        {
            results.AddRange(await Task.WhenAll(wave.Select(work)));
        }

        return results;
    }

    /// <summary>
    /// One HTTP <c>POST /v1.0/state/viewstore</c> with every item (the SDK's bulk save omits the API token,
    /// dapr/dotnet-sdk#1282). daprd saves the items in parallel, each on its own, and answers an error if any failed.
    /// </summary>
    private async Task<bool> SaveChunkAsync((ProductView View, string? ETag)[] views, CancellationToken cancellationToken)
    {
        using var body = new MemoryStream();
        await using (var json = new Utf8JsonWriter(body))
        {
            json.WriteStartArray();
            foreach (var (view, etag) in views)
            {
                json.WriteStartObject();
                json.WriteString("key", KeyOf(view.Id));
                json.WritePropertyName("value");
                JsonSerializer.Serialize(json, view with { ViewType = viewType }, JsonSerializerOptions.Web);
                if (!string.IsNullOrEmpty(etag))
                {
                    json.WriteString("etag", etag);
                }

                json.WriteStartObject("options");
                json.WriteString("concurrency", "first-write");
                json.WriteString("consistency", "strong");
                json.WriteEndObject();
                json.WriteStartObject("metadata");
                json.WriteString("contentType", "application/json");
                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        using var content = new ByteArrayContent(body.GetBuffer(), 0, (int)body.Length);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await sidecar.PostAsync(SaveUri, content, cancellationToken);

        // A lost race (409 / 500 "no item was updated") and a store failure look alike in a bulk answer: the caller
        // redoes the batch event by event, which tells them apart.
        return response.IsSuccessStatusCode;
    }

    /// <summary>
    /// Reads the first <see cref="ChunkSize"/> documents of this generation's view type and deletes them in one state
    /// transaction, until none is left (always the first page: deleting shifts Dapr's offset pages).
    /// </summary>
    public async Task<long> DeleteAllAsync(CancellationToken cancellationToken)
    {
        var query = new JsonObject
        {
            ["filter"] = new JsonObject { ["EQ"] = new JsonObject { ["viewType"] = viewType } },
            ["page"] = new JsonObject { ["limit"] = ChunkSize },
        }.ToJsonString();
        long deleted = 0;
        while (true)
        {
            var page = await dapr.QueryStateAsync<ProductView>(DaprNames.ViewStore, query, ViewStoreDocuments.Json, cancellationToken);
            var keys = page.Results.Select(r => r.Data).OfType<ProductView>().Select(v => KeyOf(v.Id)).ToList();
            if (keys.Count == 0)
            {
                return deleted;
            }

            await dapr.ExecuteStateTransactionAsync(DaprNames.ViewStore, [.. keys.Select(k => new StateTransactionRequest(k, null, StateOperationType.Delete))], cancellationToken: cancellationToken);
            deleted += keys.Count;
        }
    }

    public async Task<ProductPage> QueryAsync(ProductQuery query, CancellationToken cancellationToken)
    {
        var token = ProductPageToken.Of(query);

        var order = new ProductSortOrder(query.Sort);
        var minPrice = query.MinPrice is { } min ? ProductViewKeys.Price(min) : null;
        var maxPrice = query.MaxPrice is { } max ? ProductViewKeys.Price(max) : null;
        var batchSize = Math.Min(MaxBatch, (minPrice ?? maxPrice) is null ? query.PageSize + 2 : (query.PageSize * 2) + 2);

        // Rows the caller has passed: everything up to the token's position in the sort order.
        var position = token is null ? ((string Key, Guid Id)?)null : (token.LastKey, token.LastId);
        var start = token is null ? 0 : Math.Max(0, token.Hint - 1);
        var anchor = position;
        var items = new List<(ProductView View, long Offset)>(query.PageSize + 1);
        while (items.Count <= query.PageSize)
        {
            var batch = await FetchAsync(order, query.Category, start, batchSize, cancellationToken);

            // The scan may resume mid-result only if the row there is still at or before where we were: then every
            // row before it was seen. Otherwise rows moved (a view left the result) and we rescan from the start.
            if (start > 0 && (batch.Count == 0 || order.Compare(order.KeyOf(batch[0]), batch[0].Id, anchor!.Value) > 0))
            {
                start = 0;
                anchor = null;
                continue;
            }

            var stop = false;
            for (var i = 0; i < batch.Count && items.Count <= query.PageSize; i++)
            {
                var view = batch[i];
                var key = order.KeyOf(view);
                if (position is { } passed && order.Compare(key, view.Id, passed) <= 0)
                {
                    continue; // seen already, or inserted behind the position since
                }

                position = (key, view.Id);
                if (BeyondPriceRange(order, view.PriceKey, minPrice, maxPrice))
                {
                    stop = true; // sorted by price: every later row is beyond the range too
                    break;
                }

                if ((minPrice is null || string.CompareOrdinal(view.PriceKey, minPrice) >= 0) &&
                    (maxPrice is null || string.CompareOrdinal(view.PriceKey, maxPrice) <= 0))
                {
                    items.Add((view, start + i));
                }
            }

            if (stop || batch.Count < batchSize)
            {
                break;
            }

            anchor = (order.KeyOf(batch[^1]), batch[^1].Id);
            start += batch.Count - 1; // overlap one row: it must still be there, or rows moved
        }

        if (items.Count <= query.PageSize)
        {
            return new ProductPage([.. items.Select(i => i.View)], null);
        }

        var last = items[query.PageSize - 1];
        var next = new ProductPageToken(query.Sort, order.KeyOf(last.View), last.View.Id, ProductPageToken.FingerprintOf(query), last.Offset + 1);
        return new ProductPage([.. items.Take(query.PageSize).Select(i => i.View)], next.Encode());
    }

    private async Task<IReadOnlyList<ProductView>> FetchAsync(ProductSortOrder order, string? category, long offset, int limit, CancellationToken cancellationToken)
    {
        // v1 compares as text: the boolean is compared as 'false', the view type and category as themselves. Range
        // operators refuse string operands on v1, so price ranges and the keyset position are applied above instead.
        var filters = new JsonArray
        {
            new JsonObject { ["EQ"] = new JsonObject { ["viewType"] = viewType } },
            new JsonObject { ["EQ"] = new JsonObject { ["deleted"] = false } },
        };
        if (category is not null)
        {
            filters.Add(new JsonObject { ["EQ"] = new JsonObject { ["category"] = category } });
        }

        var direction = order.Descending ? "DESC" : "ASC";
        var page = new JsonObject { ["limit"] = limit };
        if (offset > 0)
        {
            page["token"] = offset.ToString(CultureInfo.InvariantCulture);
        }

        var request = new JsonObject
        {
            ["filter"] = new JsonObject { ["AND"] = filters },
            ["sort"] = new JsonArray
            {
                new JsonObject { ["key"] = order.Field, ["order"] = direction },
                new JsonObject { ["key"] = "id", ["order"] = direction },
            },
            ["page"] = page,
        };

        var response = await dapr.QueryStateAsync<ProductView>(DaprNames.ViewStore, request.ToJsonString(), ViewStoreDocuments.Json, cancellationToken);
        return [.. response.Results.Select(r => r.Data).OfType<ProductView>()];
    }

    private static bool BeyondPriceRange(ProductSortOrder order, string priceKey, string? minPrice, string? maxPrice) => order.Sort switch
    {
        ProductSort.Price => maxPrice is not null && string.CompareOrdinal(priceKey, maxPrice) > 0,
        ProductSort.PriceDescending => minPrice is not null && string.CompareOrdinal(priceKey, minPrice) < 0,
        _ => false,
    };
}
