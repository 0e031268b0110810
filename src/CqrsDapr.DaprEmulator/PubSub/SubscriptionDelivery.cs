using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using CqrsDapr.DaprEmulator.Components;
using CqrsDapr.DaprEmulator.PubSub.Routing;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.DaprEmulator.PubSub;

/// <summary>The message was not delivered and is handed back to the component for its own redelivery.</summary>
internal sealed class DeliveryFailedException(string message) : Exception(message);

/// <summary>A routing rule ready to evaluate: no <see cref="Match"/> means "always".</summary>
internal sealed record CompiledRule(RouteExpression? Match, string Path, Uri Uri)
{
    public static CompiledRule Compile(SubscriptionRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var match = string.IsNullOrWhiteSpace(rule.Match) ? null : RouteExpression.Compile(rule.Match.Trim());
        // daprd 1.16 app channel: base address + "/" + path unless the path already starts with "/".
        return new CompiledRule(match, rule.Path, new Uri(rule.Path.TrimStart('/'), UriKind.Relative));
    }
}

/// <summary>
/// What daprd 1.16 does with each message of one subscription (<c>pkg/runtime/subscription/subscription.go</c>, the
/// handler in <c>New</c>, and <c>postman/http/http.go Deliver</c>): raw payloads get a synthesized envelope, other
/// messages must be JSON (else the error path), expired ones are dropped (copied to the dead-letter topic), the first
/// matching rule gives the route (none: dropped, copied to the dead-letter topic), then the envelope bytes are POSTed
/// and the app's answer decides: SUCCESS/empty/unparseable 2xx → ack; DROP → ack + dead-letter copy; 404 → ack without
/// dead-lettering; RETRY, unknown status, other codes, transport errors → retried by the component's inbound resiliency
/// policy, then dead-lettered if a dead-letter topic is set, else handed back to the component.
/// </summary>
internal sealed partial class SubscriptionDelivery
{
    private readonly SubscriptionDefinition definition;
    private readonly IReadOnlyList<CompiledRule> rules;
    private readonly bool needsDocument;
    private readonly IPubSub pubsub;
    private readonly AppChannel.AppChannel appChannel;
    private readonly RetryPolicy? retry;
    private readonly TimeSpan? attemptTimeout;
    private readonly ILogger logger;
    private readonly bool rawPayload;
    private readonly string? rawPayloadError;

    public SubscriptionDelivery(
        SubscriptionDefinition definition,
        IReadOnlyList<CompiledRule> rules,
        IPubSub pubsub,
        AppChannel.AppChannel appChannel,
        ComponentPolicies? policies,
        ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(rules);
        this.definition = definition;
        this.rules = rules;
        this.pubsub = pubsub;
        this.appChannel = appChannel;
        this.logger = logger;
        retry = policies?.InboundRetry;
        attemptTimeout = policies?.InboundTimeout;
        needsDocument = rules.Any(r => r.Match is not null);
        // components-contrib metadata.IsRawPayload: key "rawPayload", strconv.ParseBool; a bad value fails every message.
        if (definition.Metadata.TryGetValue("rawPayload", out var raw) && raw.Length > 0)
        {
            switch (raw)
            {
                case "1" or "t" or "T" or "true" or "TRUE" or "True":
                    rawPayload = true;
                    break;
                case "0" or "f" or "F" or "false" or "FALSE" or "False":
                    break;
                default:
                    rawPayloadError = $"rawPayload value must be a valid boolean: actual is '{raw}'";
                    break;
            }
        }
    }

    private enum Outcome
    {
        Success,
        Dropped,
        Failed,
    }

    internal SubscriptionDefinition Definition => definition;

    /// <summary>The subscription's <c>rawPayload</c> metadata.</summary>
    internal bool RawPayload => rawPayload;

    /// <summary>Set when the <c>rawPayload</c> metadata is not a Go boolean: every message then takes the error path.</summary>
    internal string? RawPayloadError => rawPayloadError;

    private string PubSubName => definition.PubSubName;

    private string Topic => definition.Topic;

    /// <summary>The component handler: returning acks the message, throwing leaves it to the component.</summary>
    public async Task HandleAsync(PubSubMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (rawPayloadError is not null)
        {
            LogMetadataError(logger, rawPayloadError);
            await FailOrDeadLetterAsync(message, rawPayloadError, cancellationToken);
            return;
        }

        var metadata = message.Metadata;
        ReadOnlyMemory<byte> body;
        EventView view;
        if (rawPayload)
        {
            var traceParent = Get(metadata, "traceparent") ?? Get(metadata, "traceid");
            body = CloudEvents.FromRawPayload(PubSubName, Topic, message.Data.Span, traceParent, Get(metadata, "tracestate"));
            if (!EventView.TryRead(body.Span, needsDocument, out view, out _))
            {
                throw new DeliveryFailedException("could not read the synthesized raw payload envelope");
            }
        }
        else
        {
            body = message.Data;
            if (!EventView.TryRead(body.Span, needsDocument, out view, out var parseError))
            {
                var error = $"error deserializing cloud event in pubsub {PubSubName} and topic {Topic}: {parseError}";
                LogNotCloudEvent(logger, PubSubName, Topic, parseError);
                await FailOrDeadLetterAsync(message, error, cancellationToken);
                return;
            }

            // Missing trace fields are back-filled from the broker metadata.
            view.TraceParent ??= Get(metadata, "traceparent") ?? (view.TraceId is null ? Get(metadata, "traceid") : null);
            view.TraceState ??= Get(metadata, "tracestate");
        }

        using (view.Document)
        {
            if (view.HasExpired())
            {
                LogExpired(logger, view.Id, view.Expiration);
                if (definition.DeadLetterTopic is not null)
                {
                    await SendToDeadLetterAsync(message, cancellationToken);
                }

                return;
            }

            var rule = FindRule(view, out var routeError);
            if (routeError is not null)
            {
                LogRouteError(logger, view.Id, PubSubName, Topic, routeError);
                await FailOrDeadLetterAsync(message, routeError, cancellationToken);
                return;
            }

            if (rule is null)
            {
                LogNoRoute(logger, view.Id, PubSubName, Topic);
                if (definition.DeadLetterTopic is not null)
                {
                    await SendToDeadLetterAsync(message, cancellationToken);
                }

                return;
            }

            var failure = await DeliverWithPolicyAsync(message, body, view, rule, cancellationToken);
            if (failure is null)
            {
                return;
            }

            await FailOrDeadLetterAsync(message, failure, cancellationToken);
        }
    }

    private CompiledRule? FindRule(in EventView view, out string? error) => FindRule(view.Document?.RootElement ?? default, out error);

    /// <summary>daprd 1.16 <c>findMatchingRoute</c>: the first rule whose match holds for <paramref name="root"/> (CEL's <c>event</c>).</summary>
    internal CompiledRule? FindRule(JsonElement root, out string? error)
    {
        error = null;
        foreach (var rule in rules)
        {
            if (rule.Match is null)
            {
                return rule;
            }

            if (rule.Match.Evaluate(root, out error))
            {
                return rule;
            }

            if (error is not null)
            {
                return null;
            }
        }

        return null;
    }

    /// <summary>The resiliency runner around the postman; returns null when the message is done with, else the last error.</summary>
    private Task<string?> DeliverWithPolicyAsync(PubSubMessage message, ReadOnlyMemory<byte> body, EventView view, CompiledRule rule, CancellationToken cancellationToken) =>
        RunWithPolicyAsync(
            async attemptToken =>
            {
                var (outcome, error) = await PostAsync(message.Metadata, body, view, rule, attemptToken, cancellationToken);
                switch (outcome)
                {
                    case Outcome.Success:
                        return null;
                    case Outcome.Dropped:
                        if (definition.DeadLetterTopic is null || await SendToDeadLetterAsync(message, cancellationToken))
                        {
                            return null;
                        }

                        LogDeadLetterAfterDropFailed(logger, Topic);
                        return "DROP status returned from app and the message could not be sent to the dead letter topic";
                    default:
                        LogRetriable(logger, Topic, error!);
                        return error;
                }
            },
            cancellationToken);

    /// <summary>
    /// The component's inbound resiliency policy (daprd 1.16 <c>resiliency.NewRunner</c>): each attempt under the
    /// policy's timeout, retried after the policy's delay while it returns an error and retries are left. Returns null
    /// once an attempt succeeds, else the last attempt's error. Bulk deliveries run their attempts through it too.
    /// </summary>
    internal async Task<string?> RunWithPolicyAsync(Func<CancellationToken, Task<string?>> attempt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        for (var n = 0; ; n++)
        {
            string? error;
            if (attemptTimeout is { } timeout)
            {
                using var limited = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                limited.CancelAfter(timeout);
                error = await attempt(limited.Token);
            }
            else
            {
                error = await attempt(cancellationToken);
            }

            if (error is null)
            {
                return null;
            }

            if (retry is null || (retry.MaxRetries >= 0 && n >= retry.MaxRetries))
            {
                return error;
            }

            await Task.Delay(retry.DelayFor(n), cancellationToken);
        }
    }

    /// <summary>daprd 1.16 postman <c>http.Deliver</c>.</summary>
    private async Task<(Outcome Outcome, string? Error)> PostAsync(
        IReadOnlyDictionary<string, string> metadata, ReadOnlyMemory<byte> body, EventView view, CompiledRule rule, CancellationToken attemptToken, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, rule.Uri) { Content = new ReadOnlyMemoryContent(body) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", CloudEvents.ContentType);
        foreach (var (key, value) in metadata)
        {
            AddMetadataHeader(request, key, value);
        }

        request.Headers.Remove("pubsubname");
        request.Headers.TryAddWithoutValidation("pubsubname", PubSubName);
        if ((view.TraceParent ?? view.TraceId) is { } traceParent)
        {
            request.Headers.TryAddWithoutValidation("traceparent", traceParent);
            if (!string.IsNullOrEmpty(view.TraceState))
            {
                request.Headers.TryAddWithoutValidation("tracestate", view.TraceState);
            }
        }

        var started = logger.IsEnabled(LogLevel.Debug) ? Stopwatch.GetTimestamp() : 0;
        HttpResponseMessage response;
        try
        {
            response = await appChannel.SendAsync(request, attemptToken);
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return (Outcome.Failed, $"error returned from app channel while sending pub/sub event to app: {ex.Message}");
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            byte[] responseBody;
            try
            {
                responseBody = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            }
            catch (HttpRequestException ex)
            {
                return (Outcome.Failed, $"error returned from app channel while sending pub/sub event to app: {ex.Message}");
            }

            var result = Interpret(status, responseBody, view.Id);
            if (started != 0)
            {
                var elapsedMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                var outcome = result.Outcome;
                LogDelivered(logger, view.Id, PubSubName, Topic, rule.Path, status, outcome, elapsedMs);
            }

            return result;
        }
    }

    private (Outcome Outcome, string? Error) Interpret(int status, byte[] body, string? id)
    {
        if (status is >= 200 and <= 299)
        {
            var appStatus = AppResponse.ReadStatus(body, out var parseError);
            if (parseError is not null)
            {
                LogStatusSkipped(logger, id, parseError);
                return (Outcome.Success, null);
            }

            switch (appStatus)
            {
                case "" or "SUCCESS":
                    return (Outcome.Success, null);
                case "RETRY":
                    return (Outcome.Failed, $"RETRY status returned from app while processing pub/sub event {id}");
                case "DROP":
                    LogDropStatus(logger, id);
                    return (Outcome.Dropped, null);
                default:
                    return (Outcome.Failed, $"unknown status returned from app while processing pub/sub event {id}, status: {appStatus}");
            }
        }

        var text = Encoding.UTF8.GetString(body);
        if (status == 404)
        {
            // daprd 1.16: not retriable, acknowledged, and not sent to the dead-letter topic.
            LogNotFound(logger, id, text);
            return (Outcome.Success, null);
        }

        return (Outcome.Failed, $"retriable error returned from app while processing pub/sub event {id}, topic: {Topic}, body: {text}. status code returned: {status}");
    }

    /// <summary>After the policy: the dead-letter topic takes the message (ack), or the component gets the error back.</summary>
    private async Task FailOrDeadLetterAsync(PubSubMessage message, string error, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (definition.DeadLetterTopic is not null && await SendToDeadLetterAsync(message, cancellationToken))
        {
            return;
        }

        throw new DeliveryFailedException(error);
    }

    /// <summary>The original broker message (bytes and metadata, plus <c>pubsubName</c>) published to the dead-letter topic.</summary>
    internal async Task<bool> SendToDeadLetterAsync(PubSubMessage message, CancellationToken cancellationToken)
    {
        var metadata = new Dictionary<string, string>(message.Metadata.Count + 1, StringComparer.Ordinal);
        foreach (var (key, value) in message.Metadata)
        {
            metadata[key] = value;
        }

        metadata["pubsubName"] = PubSubName;
        try
        {
            await pubsub.PublishAsync(definition.DeadLetterTopic!, message.Data, metadata, cancellationToken);
            LogDeadLettered(logger, Topic, definition.DeadLetterTopic!);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogDeadLetterFailed(logger, Topic, definition.DeadLetterTopic!, ex.Message);
            return false;
        }
    }

    /// <summary>
    /// Broker metadata as headers, as daprd's <c>InternalMetadataToHTTPHeader</c> sets them: lower-cased, trace and
    /// pseudo/gRPC headers left out, content headers owned by the request.
    /// </summary>
    internal static void AddMetadataHeader(HttpRequestMessage request, string key, string value)
    {
        var name = key.ToLowerInvariant();
        if (name is "traceparent" or "tracestate" or "grpc-trace-bin" or "content-length" or "content-type"
            || name.StartsWith(':') || name.StartsWith("grpc-", StringComparison.Ordinal)
            || value.AsSpan().IndexOfAny('\r', '\n') >= 0)
        {
            return;
        }

        request.Headers.Remove(name);
        request.Headers.TryAddWithoutValidation(name, value);
    }

    private static string? Get(IReadOnlyDictionary<string, string> metadata, string key) =>
        metadata.Count > 0 && metadata.TryGetValue(key, out var value) ? value : null;

    [LoggerMessage(Level = LogLevel.Error, Message = "error deserializing pubsub metadata: {Error}")]
    private static partial void LogMetadataError(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "error deserializing cloud event in pubsub {PubSub} and topic {Topic}: {Error}")]
    private static partial void LogNotCloudEvent(ILogger logger, string pubSub, string topic, string? error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "dropping expired pub/sub event {Id} as of {Expiration}")]
    private static partial void LogExpired(ILogger logger, string? id, string? expiration);

    [LoggerMessage(Level = LogLevel.Error, Message = "error finding matching route for event {Id} in pubsub {PubSub} and topic {Topic}: {Error}")]
    private static partial void LogRouteError(ILogger logger, string? id, string pubSub, string topic, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "no matching route for event {Id} in pubsub {PubSub} and topic {Topic}; skipping")]
    private static partial void LogNoRoute(ILogger logger, string? id, string pubSub, string topic);

    [LoggerMessage(Level = LogLevel.Warning, Message = "encountered a retriable error while publishing a subscribed message to topic {Topic}, err: {Error}")]
    private static partial void LogRetriable(ILogger logger, string topic, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "failed to send dropped message to dead letter queue for topic {Topic}")]
    private static partial void LogDeadLetterAfterDropFailed(ILogger logger, string topic);

    [LoggerMessage(Level = LogLevel.Debug, Message = "pub/sub event {Id} of {PubSub}/{Topic} delivered to /{Path}: HTTP {Status}, {Outcome} in {ElapsedMs:F3} ms")]
    private static partial void LogDelivered(ILogger logger, string? id, string pubSub, string topic, string path, int status, Outcome outcome, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Debug, Message = "skipping status check due to {Reason} from pub/sub event {Id}")]
    private static partial void LogStatusSkipped(ILogger logger, string? id, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "DROP status returned from app while processing pub/sub event {Id}")]
    private static partial void LogDropStatus(ILogger logger, string? id);

    [LoggerMessage(Level = LogLevel.Error, Message = "non-retriable error returned from app while processing pub/sub event {Id}: {Body}. status code returned: 404")]
    private static partial void LogNotFound(ILogger logger, string? id, string body);

    [LoggerMessage(Level = LogLevel.Debug, Message = "message of topic {Topic} sent to dead letter topic {DeadLetterTopic}")]
    private static partial void LogDeadLettered(ILogger logger, string topic, string deadLetterTopic);

    [LoggerMessage(Level = LogLevel.Error, Message = "error sending message to dead letter, origin topic: {Topic} dead letter topic {DeadLetterTopic} err: {Error}")]
    private static partial void LogDeadLetterFailed(ILogger logger, string topic, string deadLetterTopic, string error);

    /// <summary>The attributes of the envelope the delivery needs, read in one pass (or a document when rules need one).</summary>
    internal struct EventView
    {
        public string? Id;
        public string? Expiration;
        public string? TraceParent;
        public string? TraceId;
        public string? TraceState;
        public JsonDocument? Document;

        /// <summary>Go's <c>json.Unmarshal</c> into <c>map[string]any</c>: any JSON object (or null) passes.</summary>
        public static bool TryRead(ReadOnlySpan<byte> json, bool withDocument, out EventView view, out string? error)
        {
            view = default;
            error = null;
            try
            {
                if (withDocument)
                {
                    var document = JsonDocument.Parse(json.ToArray());
                    if (document.RootElement.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
                    {
                        error = $"json: cannot unmarshal {Describe(document.RootElement.ValueKind)} into Go value of type map[string]interface {{}}";
                        document.Dispose();
                        return false;
                    }

                    view.Document = document;
                    if (document.RootElement.ValueKind == JsonValueKind.Object)
                    {
                        foreach (var property in document.RootElement.EnumerateObject())
                        {
                            view.Capture(property.Name, property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : null,
                                property.Value.ValueKind == JsonValueKind.Number ? property.Value.GetRawText() : null);
                        }
                    }

                    return true;
                }

                var reader = new Utf8JsonReader(json);
                if (!reader.Read())
                {
                    error = "unexpected end of JSON input";
                    return false;
                }

                if (reader.TokenType == JsonTokenType.Null)
                {
                    return !reader.Read();
                }

                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    error = $"json: cannot unmarshal {Describe(reader.TokenType)} into Go value of type map[string]interface {{}}";
                    return false;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var name = reader.GetString()!;
                    reader.Read();
                    switch (reader.TokenType)
                    {
                        case JsonTokenType.String:
                            view.Capture(name, reader.GetString(), null);
                            break;
                        case JsonTokenType.Number:
                            view.Capture(name, null, Encoding.UTF8.GetString(reader.ValueSpan));
                            break;
                        default:
                            reader.Skip();
                            break;
                    }
                }

                return !reader.Read();
            }
            catch (JsonException ex)
            {
                error = ex.Message;
                view.Document?.Dispose();
                view = default;
                return false;
            }
        }

        /// <summary>components-contrib <c>HasExpired</c>: an RFC 3339 <c>expiration</c> in the past.</summary>
        public readonly bool HasExpired() =>
            !string.IsNullOrEmpty(Expiration)
            && DateTimeOffset.TryParse(Expiration, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            && at < DateTimeOffset.UtcNow;

        private void Capture(string name, string? text, string? number)
        {
            switch (name)
            {
                case "id":
                    Id = text ?? number;
                    break;
                case "expiration":
                    Expiration = text;
                    break;
                case "traceparent":
                    TraceParent = text;
                    break;
                case "traceid":
                    TraceId = text;
                    break;
                case "tracestate":
                    TraceState = text;
                    break;
                default:
                    break;
            }
        }

        private static string Describe(JsonValueKind kind) => kind switch
        {
            JsonValueKind.Array => "array",
            JsonValueKind.String => "string",
            JsonValueKind.Number => "number",
            _ => "bool",
        };

        private static string Describe(JsonTokenType token) => token switch
        {
            JsonTokenType.StartArray => "array",
            JsonTokenType.String => "string",
            JsonTokenType.Number => "number",
            _ => "bool",
        };
    }
}

/// <summary>The app's answer to a delivery: components-contrib <c>AppResponse</c> decoded as Go's json.Decoder does.</summary>
internal static class AppResponse
{
    private static readonly JsonReaderOptions Options = new() { AllowMultipleValues = true };

    /// <summary>
    /// The <c>status</c> of the first JSON value of the body ("" if absent or null), or <paramref name="error"/> set
    /// when the body is empty, not JSON, or not an object with a string status: daprd then skips the status check.
    /// </summary>
    public static string ReadStatus(ReadOnlySpan<byte> body, out string? error)
    {
        error = null;
        var status = "";
        if (body.Trim(" \t\r\n"u8).IsEmpty)
        {
            error = "empty response body";
            return "";
        }

        try
        {
            var reader = new Utf8JsonReader(body, Options);
            if (!reader.Read())
            {
                error = "empty response body";
                return "";
            }

            if (reader.TokenType == JsonTokenType.Null)
            {
                return "";
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                error = "error parsing result: not a JSON object";
                return "";
            }

            var typeError = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isStatus = string.Equals(reader.GetString(), "status", StringComparison.OrdinalIgnoreCase);
                reader.Read();
                if (!isStatus)
                {
                    reader.Skip();
                }
                else if (reader.TokenType == JsonTokenType.String)
                {
                    status = reader.GetString()!;
                }
                else if (reader.TokenType != JsonTokenType.Null)
                {
                    typeError = true;
                    reader.Skip();
                }
            }

            if (typeError)
            {
                error = "error parsing result: status is not a string";
            }

            return status;
        }
        catch (JsonException ex)
        {
            error = "error parsing result: " + ex.Message;
            return "";
        }
    }
}
