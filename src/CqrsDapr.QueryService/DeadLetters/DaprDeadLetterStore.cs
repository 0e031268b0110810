using System.Globalization;
using System.Text.Json;
using CqrsDapr.Contracts;
using CqrsDapr.QueryService.Views;
using Dapr.Client;

namespace CqrsDapr.QueryService.DeadLetters;

/// <summary>
/// Dead letters in the Dapr state store <c>viewstore</c>, key <c>deadletter|{id}</c>, JSON with
/// <c>contentType: application/json</c>; saved insert-only so a redelivery keeps the first record. Listed through the
/// state query API, filtered on the document type (the query API is not scoped by app-id or key prefix).
/// </summary>
internal sealed class DaprDeadLetterStore(DaprClient dapr) : IDeadLetterStore
{
    public static string KeyOf(string id) => $"{DeadLetter.Type}|{id}";

    public async Task<bool> TryAddAsync(DeadLetter deadLetter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deadLetter);
        return await ViewStoreDocuments.TrySaveAsync(dapr, KeyOf(deadLetter.Id), deadLetter, etag: null, cancellationToken); // false: stored by an earlier delivery
    }

    public async Task<IReadOnlyList<DeadLetter>> ListAsync(int limit, CancellationToken cancellationToken)
    {
        var query = JsonSerializer.Serialize(new
        {
            filter = new { EQ = new Dictionary<string, string> { ["viewType"] = DeadLetter.Type } },
            sort = new[] { new { key = "receivedAtKey", order = "ASC" } },
            page = new { limit },
        });
        var response = await dapr.QueryStateAsync<DeadLetter>(DaprNames.ViewStore, query, ViewStoreDocuments.Json, cancellationToken);
        return [.. response.Results.Select(r => r.Data).OfType<DeadLetter>()];
    }

    public static string ReceivedAtKeyOf(DateTimeOffset at) =>
        at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
}
