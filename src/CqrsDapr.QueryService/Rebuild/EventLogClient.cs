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

    /// <summary>
    /// A page of published events in aggregate order (each product's events together, in version order), after
    /// <paramref name="cursor"/> (null: from the start).
    /// </summary>
    public async Task<EventLogPage> ReadAsync(string? cursor, int limit, CancellationToken cancellationToken)
    {
        var query = string.Create(CultureInfo.InvariantCulture, $"?order={EventLogPage.ByAggregate}&limit={limit}")
            + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor));
        using var response = await http.GetAsync(new Uri(MethodPath.TrimStart('/') + query, UriKind.Relative), cancellationToken);
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
