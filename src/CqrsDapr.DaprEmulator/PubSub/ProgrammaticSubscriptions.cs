using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using CqrsDapr.DaprEmulator.Components;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.DaprEmulator.PubSub;

/// <summary>
/// Reads the app's subscriptions from <c>GET /dapr/subscribe</c> as daprd 1.16 does
/// (<c>pkg/runtime/pubsub/subscriptions.go GetSubscriptionsHTTP</c>): retried with the built-in initialization policy on
/// transport errors; 200 → a JSON array whose keys match case-insensitively (Go's decoder), 404 → none, anything else →
/// error log and none. Rules keep their order; <c>routes.default</c>, or else v1 <c>route</c>, becomes a final rule
/// without a match.
/// </summary>
internal static partial class ProgrammaticSubscriptions
{
    public const string Source = "programmatic";

    /// <summary>daprd's <c>DaprBuiltInInitializationRetries</c>: exponential, 3 retries, at most 10 s apart.</summary>
    private static readonly RetryPolicy InitializationRetries = new("DaprBuiltInInitializationRetries", Exponential: true, TimeSpan.Zero, TimeSpan.FromSeconds(10), MaxRetries: 3);

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNameCaseInsensitive = true };

    public static async Task<IReadOnlyList<SubscriptionDefinition>> GetAsync(AppChannel.AppChannel appChannel, string appId, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(appChannel);
        for (var attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("dapr/subscribe", UriKind.Relative))
            {
                Content = new ByteArrayContent([]),
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.TryAddWithoutValidation("dapr-app-id", appId);
            HttpResponseMessage response;
            try
            {
                response = await appChannel.SendAsync(request, cancellationToken);
            }
            catch (HttpRequestException ex)
            {
                if (attempt >= InitializationRetries.MaxRetries)
                {
                    LogFetchFailed(logger, ex.Message);
                    return [];
                }

                await Task.Delay(InitializationRetries.DelayFor(attempt), cancellationToken);
                continue;
            }

            using (response)
            {
                return await ParseAsync(response, logger, cancellationToken);
            }
        }
    }

    private static async Task<IReadOnlyList<SubscriptionDefinition>> ParseAsync(HttpResponseMessage response, ILogger logger, CancellationToken cancellationToken)
    {
        switch (response.StatusCode)
        {
            case HttpStatusCode.OK:
                break;
            case HttpStatusCode.NotFound:
                LogNoSubscriptions(logger);
                return [];
            default:
                LogUnexpectedStatus(logger, (int)response.StatusCode);
                return [];
        }

        SubscriptionJson[]? items;
        try
        {
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            items = JsonSerializer.Deserialize<SubscriptionJson[]>(body, JsonOptions);
        }
        catch (JsonException ex)
        {
            LogDeserializeFailed(logger, ex.Message);
            return [];
        }

        var result = new List<SubscriptionDefinition>();
        foreach (var item in items ?? [])
        {
            var rules = new List<SubscriptionRule>();
            foreach (var rule in item.Routes?.Rules ?? [])
            {
                rules.Add(new SubscriptionRule((rule?.Match ?? "").Trim(), rule?.Path ?? ""));
            }

            if (!string.IsNullOrEmpty(item.Routes?.Default))
            {
                rules.Add(new SubscriptionRule("", item.Routes.Default));
            }
            else if (!string.IsNullOrEmpty(item.Route))
            {
                rules.Add(new SubscriptionRule("", item.Route));
            }

            result.Add(new SubscriptionDefinition(
                item.PubsubName ?? "",
                item.Topic ?? "",
                rules,
                string.IsNullOrEmpty(item.DeadLetterTopic) ? null : item.DeadLetterTopic,
                item.Metadata ?? new Dictionary<string, string>(),
                item.BulkSubscribe is { } bulk ? new BulkSubscribeSettings(bulk.Enabled, bulk.MaxMessagesCount, bulk.MaxAwaitDurationMs) : BulkSubscribeSettings.Disabled,
                Source));
        }

        LogSubscriptions(logger, result.Count);
        return result;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "error getting topic list from app: {Error}")]
    private static partial void LogFetchFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "user app did not subscribe to any topic")]
    private static partial void LogNoSubscriptions(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "app returned http status code {Status} from subscription endpoint")]
    private static partial void LogUnexpectedStatus(ILogger logger, int status);

    [LoggerMessage(Level = LogLevel.Error, Message = "error getting topics from app: {Error}")]
    private static partial void LogDeserializeFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "app responded with {Count} subscription(s)")]
    private static partial void LogSubscriptions(ILogger logger, int count);

    private sealed record SubscriptionJson(
        string? PubsubName,
        string? Topic,
        string? DeadLetterTopic,
        Dictionary<string, string>? Metadata,
        string? Route,
        RoutesJson? Routes,
        BulkSubscribeJson? BulkSubscribe);

    private sealed record RoutesJson(RuleJson?[]? Rules, string? Default);

    private sealed record RuleJson(string? Match, string? Path);

    private sealed record BulkSubscribeJson(bool Enabled, int MaxMessagesCount, int MaxAwaitDurationMs);
}
