using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CqrsDapr.AppHost;

/// <summary>
/// What operators do to a running system, as commands of the query service's resource (the dashboard's resource menu,
/// <see cref="ResourceCommandService"/>): rebuild the product views, see the rebuild's status, list dead letters.
/// Each calls the query service through its sidecar (Dapr service invocation, as in production) with this run's
/// <c>DAPR_API_TOKEN</c>, and shows the answer: a summary as the message, the JSON as the result. Without the
/// dashboard, <see cref="OperatorFile"/> gives a shell the same address and token (<c>docs/tools/ops.sh</c>).
/// </summary>
internal static class OperatorCommands
{
    public const string RebuildViews = "rebuild-views";
    public const string RebuildStatus = "rebuild-status";
    public const string DeadLetters = "dead-letters";

    /// <summary>The query service's routes (<c>RebuildModule.Route</c>, <c>ProjectionModule.DeadLettersRoute</c>).</summary>
    public const string RebuildsMethod = "internal/rebuilds/products";
    public const string DeadLettersMethod = "internal/dead-letters";

    /// <summary>Dead letters read per command: the message counts up to this many and names the first few.</summary>
    public const int DeadLetterLimit = 100;

    private const int DeadLettersNamed = 3;
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    public static void Add(IDistributedApplicationBuilder builder, IResourceBuilder<ProjectResource> queryService, DaprSidecars dapr, string dataRoot)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(queryService);
        ArgumentNullException.ThrowIfNull(dapr);
        var sidecar = new SidecarCall(queryService.Resource.Name, dapr.SidecarOf(queryService).GetEndpoint("http"), dapr.ApiToken.Resource);

        queryService
            .WithCommand(RebuildViews, "Rebuild views", context => RebuildAsync(sidecar, context), new CommandOptions
            {
                Description = "Rebuilds every product view from the command service's event log into a new generation, served once complete.",
                ConfirmationMessage = "Rebuild every product view from the event log? Reads stay on the current views until the new ones are complete.",
                IconName = "ArrowSync",
                UpdateState = WhenHealthy,
            })
            .WithCommand(RebuildStatus, "Rebuild status", context => StatusAsync(sidecar, context), new CommandOptions
            {
                Description = "The generation served, the one being built, and the last rebuild.",
                IconName = "DocumentSync",
                UpdateState = WhenHealthy,
            })
            .WithCommand(DeadLetters, "Dead letters", context => DeadLettersAsync(sidecar, context), new CommandOptions
            {
                Description = $"Events the projection could never apply (the first {DeadLetterLimit}).",
                IconName = "MailWarning",
                UpdateState = WhenHealthy,
            });

        OperatorFile.Add(builder, queryService, sidecar, Path.Combine(dataRoot, OperatorFile.FileName));
    }

    private static ResourceCommandState WhenHealthy(UpdateCommandStateContext context) =>
        context.ResourceSnapshot.HealthStatus is HealthStatus.Healthy ? ResourceCommandState.Enabled : ResourceCommandState.Disabled;

    private static async Task<ExecuteCommandResult> RebuildAsync(SidecarCall sidecar, ExecuteCommandContext context)
    {
        var (status, body) = await sidecar.SendAsync(context, HttpMethod.Post, RebuildsMethod);
        if (status == HttpStatusCode.Accepted && Parse(body) is { } started)
        {
            var building = Int(started, "building");
            var active = Int(started, "active");
            return CommandResults.Success(
                $"Rebuild started: generation {building} is being built from the event log; generation {active} is served until it completes. \"Rebuild status\" shows its progress.",
                body, CommandResultFormat.Json);
        }

        return status == HttpStatusCode.Conflict
            ? CommandResults.Failure($"A rebuild is already running: {Text(Parse(body), "detail") ?? body}", body, CommandResultFormat.Json)
            : Failed(sidecar, status, body);
    }

    private static async Task<ExecuteCommandResult> StatusAsync(SidecarCall sidecar, ExecuteCommandContext context)
    {
        var (status, body) = await sidecar.SendAsync(context, HttpMethod.Get, RebuildsMethod);
        return status == HttpStatusCode.OK && Parse(body) is { } document
            ? CommandResults.Success(DescribeGenerations(document), body, CommandResultFormat.Json)
            : Failed(sidecar, status, body);
    }

    private static async Task<ExecuteCommandResult> DeadLettersAsync(SidecarCall sidecar, ExecuteCommandContext context)
    {
        var (status, body) = await sidecar.SendAsync(context, HttpMethod.Get,
            string.Create(CultureInfo.InvariantCulture, $"{DeadLettersMethod}?limit={DeadLetterLimit}"));
        return status == HttpStatusCode.OK && Parse(body) is { ValueKind: JsonValueKind.Array } letters
            ? CommandResults.Success(DescribeDeadLetters(letters), body, CommandResultFormat.Json)
            : Failed(sidecar, status, body);
    }

    /// <summary>"Serving generation 2; last rebuild: generation 2 completed, 5 events (5 applied) …".</summary>
    internal static string DescribeGenerations(JsonElement document)
    {
        var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"Serving generation {Int(document, "active")}");
        if (Int(document, "building") is { } building)
        {
            text.Append(CultureInfo.InvariantCulture, $"; building generation {building}");
        }

        if (!document.TryGetProperty("lastRebuild", out var last) || last.ValueKind != JsonValueKind.Object)
        {
            return text.Append("; no rebuild yet.").ToString();
        }

        text.Append(CultureInfo.InvariantCulture,
            $"; last rebuild: generation {Int(last, "generation")} {Text(last, "state")}, {Int(last, "events") ?? 0} events ({Int(last, "applied") ?? 0} applied), started {Text(last, "startedAt")}");
        if (Text(last, "finishedAt") is { } finished)
        {
            text.Append(CultureInfo.InvariantCulture, $", finished {finished}");
        }

        if (Text(last, "error") is { } error)
        {
            text.Append(CultureInfo.InvariantCulture, $"; error: {error}");
        }

        return text.Append('.').ToString();
    }

    /// <summary>"No dead letters." or how many, and the first few by event, aggregate and reason.</summary>
    internal static string DescribeDeadLetters(JsonElement letters)
    {
        var count = letters.GetArrayLength();
        if (count == 0)
        {
            return "No dead letters.";
        }

        var counted = count >= DeadLetterLimit
            ? string.Create(CultureInfo.InvariantCulture, $"{DeadLetterLimit} or more dead letters (the first {DeadLetterLimit} in the result)")
            : string.Create(CultureInfo.InvariantCulture, $"{count} dead letter{(count == 1 ? "" : "s")}");
        var first = letters.EnumerateArray().Take(DeadLettersNamed).Select(letter =>
            $"{Text(letter, "eventType") ?? "(no event type)"} of {Text(letter, "aggregateId") ?? "(no aggregate)"} from {Text(letter, "topic")}" +
            $" at {Text(letter, "receivedAt")}: {Text(letter, "reason") ?? "no reason given"} (id {Text(letter, "id")})");
        return $"{counted}. First: {string.Join("; ", first)}.";
    }

    private static ExecuteCommandResult Failed(SidecarCall sidecar, HttpStatusCode? status, string body) => status is null
        ? CommandResults.Failure(body)
        : CommandResults.Failure(string.Create(CultureInfo.InvariantCulture,
            $"{sidecar.AppId} answered {(int)status} {status}: {(body.Length > 500 ? body[..500] + "…" : body)}"));

    private static JsonElement? Parse(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static int? Int(JsonElement? element, string name) =>
        element is { ValueKind: JsonValueKind.Object } e && e.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number
        && value.TryGetInt32(out var number) ? number : null;

    private static string? Text(JsonElement? element, string name) =>
        element is { ValueKind: JsonValueKind.Object } e && e.TryGetProperty(name, out var value) && value.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined)
            ? value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText()
            : null;

    /// <summary>A call of the query service's methods through its sidecar's HTTP API, with this run's API token.</summary>
    internal sealed class SidecarCall(string appId, EndpointReference sidecar, ParameterResource apiToken)
    {
        public string AppId => appId;

        /// <summary>The sidecar's address once Aspire allocated it (<c>http://localhost:port</c>).</summary>
        public async Task<string> AddressAsync(CancellationToken cancellationToken) =>
            await sidecar.GetValueAsync(cancellationToken) ?? throw new InvalidOperationException($"{appId}'s sidecar has no address yet.");

        public async Task<string> TokenAsync(CancellationToken cancellationToken) =>
            await apiToken.GetValueAsync(cancellationToken) ?? throw new InvalidOperationException($"{apiToken.Name} has no value.");

        /// <summary>The answer's status and body; a null status when the sidecar did not answer (the body says why).</summary>
        public async Task<(HttpStatusCode? Status, string Body)> SendAsync(ExecuteCommandContext context, HttpMethod method, string pathAndQuery)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
            timeout.CancelAfter(CallTimeout);
            var address = await AddressAsync(timeout.Token);
            using var request = new HttpRequestMessage(method, new Uri($"{address.TrimEnd('/')}/v1.0/invoke/{appId}/method/{pathAndQuery}"));
            request.Headers.Add("dapr-api-token", await TokenAsync(timeout.Token));
            using var client = context.Services.GetRequiredService<IHttpClientFactory>().CreateClient();
            try
            {
                using var response = await client.SendAsync(request, timeout.Token);
                return (response.StatusCode, await response.Content.ReadAsStringAsync(timeout.Token));
            }
            catch (Exception error) when (error is HttpRequestException || (error is OperationCanceledException && !context.CancellationToken.IsCancellationRequested))
            {
                return (null, $"{appId}'s sidecar at {address} did not answer: {error.Message}");
            }
        }
    }
}
