using System.Globalization;

namespace CqrsDapr.QueryService;

/// <summary>
/// Plain HTTP to this app's own Dapr sidecar, for what <c>DaprClient</c> does not do right: service invocation (its
/// helpers are obsolete) and bulk saves (<c>SaveBulkStateAsync</c> leaves out the API token, dapr/dotnet-sdk#1282).
/// The endpoint and token come from the same configuration as <c>DaprClient</c>'s.
/// </summary>
internal static class SidecarHttp
{
    public const string ApiTokenHeader = "dapr-api-token";

    /// <summary>Points <paramref name="http"/> at the sidecar (<c>DAPR_HTTP_ENDPOINT</c>, else <c>DAPR_HTTP_PORT</c> on loopback).</summary>
    public static void Configure(HttpClient http, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(configuration);
        var endpoint = configuration["DAPR_HTTP_ENDPOINT"] is { Length: > 0 } configured
            ? configured
            : string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{configuration["DAPR_HTTP_PORT"] ?? "3500"}");
        Configure(http, endpoint, configuration["DAPR_API_TOKEN"]);
    }

    public static void Configure(HttpClient http, string endpoint, string? apiToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(endpoint);
        http.BaseAddress = new Uri(endpoint.TrimEnd('/') + "/");
        if (!string.IsNullOrEmpty(apiToken))
        {
            http.DefaultRequestHeaders.Add(ApiTokenHeader, apiToken);
        }
    }
}
