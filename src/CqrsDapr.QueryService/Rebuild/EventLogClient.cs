using System.Globalization;
using System.Net.Http.Json;
using CqrsDapr.Contracts;

namespace CqrsDapr.QueryService.Rebuild;

/// <summary>
/// Reads the command service's event log (<c>GET /internal/event-log</c>) through Dapr service invocation: a plain
/// HttpClient on this app's own sidecar, <c>/v1.0/invoke/command-service/method/...</c> with the sidecar's API token,
/// as the Dapr SDK now recommends over its invoke helpers. The sidecar adds the command service's <c>APP_API_TOKEN</c>.
/// </summary>
internal sealed class EventLogClient(HttpClient http)
{
    public static readonly string MethodPath = $"/v1.0/invoke/{DaprNames.CommandService}/method/{EventLogPage.Method}";

    /// <summary>Published events with a sequence above <paramref name="after"/>, at most <paramref name="limit"/>.</summary>
    public async Task<EventLogPage> ReadAsync(long after, int limit, CancellationToken cancellationToken)
    {
        var uri = new Uri(string.Create(CultureInfo.InvariantCulture, $"{MethodPath.TrimStart('/')}?after={after}&limit={limit}"), UriKind.Relative);
        using var response = await http.GetAsync(uri, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new HttpRequestException(
                $"The event log answered {(int)response.StatusCode}: {(body.Length > 300 ? body[..300] : body)}", null, response.StatusCode);
        }

        return await response.Content.ReadFromJsonAsync(ContractsJson.Default.EventLogPage, cancellationToken)
            ?? throw new HttpRequestException("The event log answered an empty page.");
    }
}
