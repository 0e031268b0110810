using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Azure.Cosmos;

namespace CqrsDapr.QueryService.Views.Cosmos;

/// <summary>
/// How every document of the Cosmos DB view store is written and read: the value's JSON (System.Text.Json, camelCase,
/// as in the Dapr store) with its partition key <c>pk</c> first, through the SDK's stream API; and what each answer
/// means.
/// </summary>
internal static class CosmosDocuments
{
    public static JsonSerializerOptions Json => JsonSerializerOptions.Web;

    /// <summary>
    /// <paramref name="value"/>'s JSON as <c>{"pk":"…",</c> (and <c>"id":"…",</c> for a value without an <c>Id</c> of
    /// its own) followed by the serialized value without its opening brace. Partition keys and ids given here are built
    /// by this store from letters, digits, dots, dashes and bars: nothing to escape.
    /// </summary>
    public static MemoryStream WithPartitionKey<T>(T value, string partitionKey, string? id = null)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(value, Json);
        var prefix = Encoding.UTF8.GetBytes(id is null ? $"{{\"pk\":\"{partitionKey}\"," : $"{{\"id\":\"{id}\",\"pk\":\"{partitionKey}\",");
        var stream = new MemoryStream(json.Length + prefix.Length);
        stream.Write(prefix);
        stream.Write(json.AsSpan(1));
        stream.Position = 0;
        return stream;
    }

    /// <summary>
    /// Reads one document and its ETag; (null, null) when there is none. Other failures throw
    /// <see cref="ViewStoreUnavailableException"/>.
    /// </summary>
    public static async Task<(T? Value, string? ETag)> ReadAsync<T>(
        Container container, string id, string partitionKey, string operation, CosmosCallObserver observer, CancellationToken cancellationToken)
        where T : class
    {
        using var response = await container.ReadItemStreamAsync(id, new PartitionKey(partitionKey), cancellationToken: cancellationToken);
        observer.Observe(operation, response);
        if (IsMissingDocument(response))
        {
            return (null, null);
        }

        Ensure(response, operation);
        var value = await JsonSerializer.DeserializeAsync<T>(response.Content, Json, cancellationToken)
            ?? throw new ViewStoreUnavailableException($"Cosmos DB returned an empty document for {operation} {id}.");
        return (value, response.Headers.ETag);
    }

    /// <summary>
    /// Saves <paramref name="document"/> first-write-wins: created when <paramref name="etag"/> is null, else replaced
    /// with <c>If-Match</c>. False for a lost race: it exists already (409), changed since it was read (412), or was
    /// removed meanwhile (404).
    /// </summary>
    public static async Task<bool> TrySaveAsync(
        Container container, Stream document, string id, string partitionKey, string? etag, string operation, CosmosCallObserver observer, CancellationToken cancellationToken)
    {
        var partition = new PartitionKey(partitionKey);
        using var response = etag is null
            ? await container.CreateItemStreamAsync(document, partition, cancellationToken: cancellationToken)
            : await container.ReplaceItemStreamAsync(document, id, partition, new ItemRequestOptions { IfMatchEtag = etag }, cancellationToken);
        observer.Observe(operation, response);
        if (IsLostRace(response) || IsMissingDocument(response))
        {
            return false;
        }

        Ensure(response, operation);
        return true;
    }

    /// <summary>404 for the document itself (substatus 0); a 404 for a missing container or database (1003) is a fault.</summary>
    public static bool IsMissingDocument(ResponseMessage response) =>
        response.StatusCode == HttpStatusCode.NotFound && response.Headers["x-ms-substatus"] is null or "0";

    /// <summary>A lost first-write race: the document exists already (409) or changed since it was read (412).</summary>
    public static bool IsLostRace(ResponseMessage response) =>
        response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.PreconditionFailed;

    /// <summary>Throws <see cref="ViewStoreUnavailableException"/> for any answer that is not a success.</summary>
    public static void Ensure(ResponseMessage response, string operation)
    {
        try
        {
            response.EnsureSuccessStatusCode();
        }
        catch (CosmosException ex)
        {
            throw new ViewStoreUnavailableException(
                $"Cosmos DB {operation} answered {(int)response.StatusCode} {response.StatusCode} (substatus {response.Headers["x-ms-substatus"] ?? "0"}): {response.ErrorMessage}",
                ex);
        }
    }

    /// <summary>Runs a query within one logical partition to its end (a TOP bounds it) and reads every page.</summary>
    public static async Task<List<T>> ReadAllAsync<T>(
        Container container, QueryDefinition query, string partition, string operation, CosmosCallObserver observer, CancellationToken cancellationToken)
    {
        var results = new List<T>();
        using var pages = container.GetItemQueryStreamIterator(query, requestOptions: new QueryRequestOptions { PartitionKey = new PartitionKey(partition) });
        while (pages.HasMoreResults)
        {
            using var response = await pages.ReadNextAsync(cancellationToken);
            observer.Observe(operation, response);
            Ensure(response, operation);
            var page = await JsonSerializer.DeserializeAsync<QueryPage<T>>(response.Content, Json, cancellationToken);
            results.AddRange(page?.Documents ?? []);
        }

        return results;
    }

    private sealed record QueryPage<T>([property: JsonPropertyName("Documents")] List<T>? Documents);
}
