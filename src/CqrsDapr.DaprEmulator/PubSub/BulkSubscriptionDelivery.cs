using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using CqrsDapr.DaprEmulator.PubSub.Redis;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.DaprEmulator.PubSub;

/// <summary>One message of a batch: the id daprd's default bulk subscriber gave it, and the broker message.</summary>
internal sealed record BulkEntry(string EntryId, PubSubMessage Message);

/// <summary>
/// What daprd 1.16 does with a batch of one bulk subscription (<c>pkg/runtime/subscription/bulksubscription.go</c>
/// <c>bulkSubscribeTopic</c>, <c>bulkresiliency.go</c> and <c>postman/http/http.go DeliverBulk</c>). Per entry:
/// raw payloads become <c>data</c> in base64, other messages must be JSON objects (else the entry fails), expired ones
/// are acked and copied to the dead-letter topic, the first matching rule gives the path (none: acked and copied to the
/// dead-letter topic). The entries of each path go in one POST of <c>application/json</c>
/// <c>{"entries","id","metadata","pubsubname","topic","type":"com.dapr.event.sent.bulk"}</c>, run by the
/// component's inbound resiliency policy with only the failed entries retried. The app's answer decides per entry:
/// 2xx with <c>statuses</c>: SUCCESS acks, DROP acks and copies to the dead-letter topic, RETRY / empty / unknown /
/// missing fail; 2xx whose body is not such JSON (empty included) fails every entry; 404 acks every entry without
/// dead-lettering; any other status or a transport error fails every entry. Failed entries then go to the
/// dead-letter topic if there is one (all acked if that worked), else back to the component one by one, which
/// redelivers them as it does any failed message. The single-message delivery's policy runner, dead-letter publish,
/// rule evaluation and header mapping are reused.
/// </summary>
internal sealed partial class BulkSubscriptionDelivery(SubscriptionDelivery single, AppChannel.AppChannel appChannel, ILogger logger)
{
    public const string EventType = "com.dapr.event.sent.bulk";

    private const string CloudEventContentType = "application/cloudevents+json";
    private const string RawContentType = "application/octet-stream";
    private const string FewFailed = "few message(s) have failed during bulk subscribe operation";

    private string PubSubName => single.Definition.PubSubName;

    private string Topic => single.Definition.Topic;

    private string? DeadLetterTopic => single.Definition.DeadLetterTopic;

    /// <summary>
    /// The bulk handler: one error per entry (null = acknowledge), in the order of <paramref name="entries"/>, as
    /// daprd's default bulk subscriber hands them back to the component's per-message handlers.
    /// </summary>
    public async Task<string?[]> HandleAsync(IReadOnlyList<BulkEntry> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var errors = new string?[entries.Count];
        var index = new Dictionary<string, int>(entries.Count, StringComparer.Ordinal);
        for (var i = 0; i < entries.Count; i++)
        {
            index[entries[i].EntryId] = i;
        }

        if (single.RawPayloadError is { } metadataError)
        {
            LogMetadataError(logger, metadataError);
            if (DeadLetterTopic is not null && await DeadLetterAsync(entries, cancellationToken))
            {
                return errors;
            }

            Array.Fill(errors, metadataError);
            return errors;
        }

        // Go's err variable of bulkSubscribeTopic: the last entry's unmarshal result, then the last failed path's error.
        // When it ends up nil the default bulk subscriber acks the whole batch, failed entries included (daprd 1.16).
        string? err = null;
        var hasAnyError = false;
        var paths = new List<(CompiledRule Rule, List<Routed> Entries)>();
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            if (single.RawPayload)
            {
                var raw = Encoding.UTF8.GetString(entry.Message.Data.Span);
                using var rawDocument = JsonDocument.Parse(JsonSerializer.SerializeToUtf8Bytes(raw));
                var rawRule = await RouteAsync(entry, rawDocument.RootElement, errors, i, cancellationToken);
                if (rawRule is null)
                {
                    hasAnyError |= errors[i] is not null;
                    continue;
                }

                var event64 = new ArrayBufferWriter<byte>();
                GoStringMapJson.WriteString(event64, Convert.ToBase64String(entry.Message.Data.Span));
                Add(paths, rawRule, new Routed(i, entry, event64.WrittenMemory, RawContentType, null));
                continue;
            }

            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(entry.Message.Data);
                err = null;
            }
            catch (JsonException ex)
            {
                err = ex.Message;
                errors[i] = err;
                hasAnyError = true;
                LogNotCloudEvent(logger, PubSubName, Topic, ex.Message);
                continue;
            }

            using (document)
            {
                var root = document.RootElement;
                string? parseError = null;
                if (root.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
                {
                    parseError = $"json: cannot unmarshal {root.ValueKind.ToString().ToLowerInvariant()} into Go value of type map[string]interface {{}}";
                }
                else if (!GoJsonValue.TryValidate(root, out var numberError))
                {
                    parseError = numberError;
                }

                if (parseError is not null)
                {
                    err = parseError;
                    errors[i] = err;
                    hasAnyError = true;
                    LogNotCloudEvent(logger, PubSubName, Topic, parseError);
                    continue;
                }

                var (id, expiration, traceParent) = Attributes(root);
                if (HasExpired(expiration))
                {
                    LogExpired(logger, id, expiration);
                    if (DeadLetterTopic is not null)
                    {
                        await single.SendToDeadLetterAsync(entry.Message, cancellationToken);
                    }

                    continue;
                }

                var rule = await RouteAsync(entry, root, errors, i, cancellationToken);
                if (rule is null)
                {
                    hasAnyError |= errors[i] is not null;
                    continue;
                }

                var json = new ArrayBufferWriter<byte>(entry.Message.Data.Length + 64);
                GoJsonValue.Write(json, root);
                Add(paths, rule, new Routed(i, entry, json.WrittenMemory, CloudEventContentType, traceParent));
            }
        }

        foreach (var (rule, routed) in paths)
        {
            var invokeError = await DeliverPathWithPolicyAsync(rule, routed, index, errors, cancellationToken);
            if (invokeError is not null)
            {
                hasAnyError = true;
                err = invokeError;
            }
        }

        if (!hasAnyError)
        {
            return errors;
        }

        if (DeadLetterTopic is not null && await DeadLetterAsync(entries.Where((_, i) => errors[i] is not null).ToList(), cancellationToken))
        {
            return new string?[entries.Count];
        }

        return err is null ? new string?[entries.Count] : errors;
    }

    private static void Add(List<(CompiledRule Rule, List<Routed> Entries)> paths, CompiledRule rule, Routed routed)
    {
        // daprd groups by path in a Go map (random order between paths); here the first path seen goes first.
        foreach (var (existing, list) in paths)
        {
            if (string.Equals(existing.Path, rule.Path, StringComparison.Ordinal))
            {
                list.Add(routed);
                return;
            }
        }

        paths.Add((rule, [routed]));
    }

    /// <summary>daprd 1.16 <c>getRouteIfProcessable</c>: a rule error fails the entry; no matching rule acks it (dead-letter copy).</summary>
    private async Task<CompiledRule?> RouteAsync(BulkEntry entry, JsonElement root, string?[] errors, int i, CancellationToken cancellationToken)
    {
        var rule = single.FindRule(root, out var routeError);
        if (routeError is not null)
        {
            LogRouteError(logger, PubSubName, Topic, entry.EntryId, routeError);
            errors[i] = routeError;
            return null;
        }

        if (rule is null)
        {
            LogNoRoute(logger, PubSubName, Topic);
            if (DeadLetterTopic is not null)
            {
                await single.SendToDeadLetterAsync(entry.Message, cancellationToken);
            }
        }

        return rule;
    }

    /// <summary>
    /// daprd 1.16 <c>applyBulkSubscribeResiliency</c>: the policy runs attempts of the still-failed entries of the path
    /// (one envelope id for all attempts); returns the last attempt's error, null when the last attempt succeeded.
    /// </summary>
    private Task<string?> DeliverPathWithPolicyAsync(CompiledRule rule, List<Routed> routed, Dictionary<string, int> index, string?[] errors, CancellationToken cancellationToken)
    {
        var envelopeId = Guid.NewGuid().ToString();
        var pending = routed;
        return single.RunWithPolicyAsync(
            async attemptToken =>
            {
                var (responses, error) = await DeliverBulkAsync(rule, envelopeId, pending, index, attemptToken, cancellationToken);
                foreach (var (i, entryError) in responses)
                {
                    errors[i] = entryError;
                }

                pending = pending.Where(r => errors[r.Index] is not null).ToList();
                return error;
            },
            cancellationToken);
    }

    /// <summary>daprd 1.16 postman <c>http.DeliverBulk</c>: one POST, per-entry results and the attempt's error.</summary>
    private async Task<(List<(int Index, string? Error)> Responses, string? Error)> DeliverBulkAsync(
        CompiledRule rule, string envelopeId, List<Routed> pending, Dictionary<string, int> index, CancellationToken attemptToken, CancellationToken cancellationToken)
    {
        var responses = new List<(int Index, string? Error)>(pending.Count);
        using var request = new HttpRequestMessage(HttpMethod.Post, rule.Uri) { Content = new ReadOnlyMemoryContent(Envelope(envelopeId, pending)) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        // The bulk message's metadata (pubsubName) as headers, as WithCustomHTTPMetadata sets them.
        SubscriptionDelivery.AddMetadataHeader(request, "pubsubName", PubSubName);

        var started = logger.IsEnabled(LogLevel.Debug) ? Stopwatch.GetTimestamp() : 0;
        HttpResponseMessage response;
        try
        {
            response = await appChannel.SendAsync(request, attemptToken);
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            var error = $"error from app channel while sending pub/sub event to app: {ex.Message}";
            responses.AddRange(pending.Select(r => (r.Index, (string?)error)));
            LogRetriable(logger, Topic, error);
            return (responses, error);
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            byte[] body;
            try
            {
                body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            }
            catch (HttpRequestException ex)
            {
                var error = $"error from app channel while sending pub/sub event to app: {ex.Message}";
                responses.AddRange(pending.Select(r => (r.Index, (string?)error)));
                return (responses, error);
            }

            if (started != 0)
            {
                var elapsedMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                LogDelivered(logger, envelopeId, pending.Count, PubSubName, Topic, rule.Path, status, elapsedMs);
            }

            if (status is >= 200 and <= 299)
            {
                return await InterpretStatusesAsync(body, pending, index, responses, cancellationToken);
            }

            if (status == 404)
            {
                LogNotFound(logger, status);
                responses.AddRange(pending.Select(r => (r.Index, (string?)null)));
                return (responses, null);
            }

            var retriable = $"Retriable error returned from app while processing bulk pub/sub event, topic: {Topic}. status code returned: {status}";
            LogRetriable(logger, Topic, retriable);
            responses.AddRange(pending.Select(r => (r.Index, (string?)retriable)));
            return (responses, retriable);
        }
    }

    private async Task<(List<(int Index, string? Error)> Responses, string? Error)> InterpretStatusesAsync(
        byte[] body, List<Routed> pending, Dictionary<string, int> index, List<(int Index, string? Error)> responses, CancellationToken cancellationToken)
    {
        var statuses = AppBulkResponse.Read(body, out var parseError);
        if (statuses is null)
        {
            var error = $"failed unmarshalling app response for bulk subscribe: {parseError}";
            LogRetriable(logger, Topic, error);
            responses.AddRange(pending.Select(r => (r.Index, (string?)error)));
            return (responses, error);
        }

        var received = new HashSet<string>(StringComparer.Ordinal);
        var hasAnyError = false;
        foreach (var (entryId, appStatus) in statuses)
        {
            if (!index.TryGetValue(entryId, out var i))
            {
                LogInvalidEntryId(logger, entryId);
                continue;
            }

            received.Add(entryId);
            switch (appStatus)
            {
                case "" or "RETRY":
                    responses.Add((i, $"RETRY required while processing bulk subscribe event for entry id: {entryId}"));
                    hasAnyError = true;
                    break;
                case "SUCCESS":
                    responses.Add((i, null));
                    break;
                case "DROP":
                    LogDropStatus(logger, entryId);
                    responses.Add((i, null));
                    if (DeadLetterTopic is not null && pending.Find(r => r.Index == i) is { } dropped)
                    {
                        await single.SendToDeadLetterAsync(dropped.Entry.Message, cancellationToken);
                    }

                    break;
                default:
                    responses.Add((i, $"unknown status returned from app while processing bulk subscribe event {entryId}: {appStatus}"));
                    hasAnyError = true;
                    break;
            }
        }

        foreach (var routed in pending)
        {
            if (!received.Contains(routed.Entry.EntryId))
            {
                responses.Add((routed.Index, $"response not received, RETRY required while processing bulk subscribe event for entry id: {routed.Entry.EntryId}"));
                hasAnyError = true;
            }
        }

        return (responses, hasAnyError ? FewFailed : null);
    }

    /// <summary>
    /// The envelope as Go marshals daprd's <c>map[string]any</c>: keys sorted; each entry <c>entryId</c>, <c>event</c>,
    /// <c>metadata</c> (the broker message's, <c>null</c> when it has none), <c>contentType</c>.
    /// </summary>
    private ReadOnlyMemory<byte> Envelope(string id, List<Routed> pending)
    {
        var buffer = new ArrayBufferWriter<byte>(256 + pending.Sum(p => p.Event.Length + 96));
        buffer.Write("{\"entries\":["u8);
        for (var i = 0; i < pending.Count; i++)
        {
            var routed = pending[i];
            if (i > 0)
            {
                buffer.Write(","u8);
            }

            buffer.Write("{\"entryId\":"u8);
            GoStringMapJson.WriteString(buffer, routed.Entry.EntryId);
            buffer.Write(",\"event\":"u8);
            buffer.Write(routed.Event.Span);
            buffer.Write(",\"metadata\":"u8);
            var metadata = routed.Entry.Message.Metadata;
            buffer.Write(metadata.Count == 0 ? "null"u8 : GoStringMapJson.Serialize(metadata));
            buffer.Write(",\"contentType\":"u8);
            GoStringMapJson.WriteString(buffer, routed.ContentType);
            buffer.Write("}"u8);
        }

        buffer.Write("],\"id\":"u8);
        GoStringMapJson.WriteString(buffer, id);
        buffer.Write(",\"metadata\":"u8);
        buffer.Write(GoStringMapJson.Serialize(new Dictionary<string, string>(StringComparer.Ordinal) { ["pubsubName"] = PubSubName }));
        buffer.Write(",\"pubsubname\":"u8);
        GoStringMapJson.WriteString(buffer, PubSubName);
        buffer.Write(",\"topic\":"u8);
        GoStringMapJson.WriteString(buffer, Topic);
        buffer.Write(",\"type\":\""u8);
        buffer.Write(Encoding.UTF8.GetBytes(EventType));
        buffer.Write("\"}"u8);
        return buffer.WrittenMemory;
    }

    /// <summary>daprd 1.16 <c>sendBulkToDeadLetter</c>: the entries' original messages to the dead-letter topic; true if all went.</summary>
    private async Task<bool> DeadLetterAsync(IReadOnlyList<BulkEntry> entries, CancellationToken cancellationToken)
    {
        var all = true;
        foreach (var entry in entries)
        {
            all &= await single.SendToDeadLetterAsync(entry.Message, cancellationToken);
        }

        return all;
    }

    private static (string? Id, string? Expiration, string? TraceParent) Attributes(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return (null, null, null);
        }

        string? Text(string name) => root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        var id = root.TryGetProperty("id", out var idValue) ? (idValue.ValueKind == JsonValueKind.String ? idValue.GetString() : idValue.GetRawText()) : null;
        return (id, Text("expiration"), Text("traceparent") ?? Text("traceid"));
    }

    private static bool HasExpired(string? expiration) =>
        !string.IsNullOrEmpty(expiration)
        && DateTimeOffset.TryParse(expiration, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at)
        && at < DateTimeOffset.UtcNow;

    [LoggerMessage(Level = LogLevel.Error, Message = "error deserializing pubsub metadata: {Error}")]
    private static partial void LogMetadataError(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "error deserializing one of the messages in bulk cloud event in pubsub {PubSub} and topic {Topic}: {Error}")]
    private static partial void LogNotCloudEvent(ILogger logger, string pubSub, string topic, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "dropping expired pub/sub event {Id} as of {Expiration}")]
    private static partial void LogExpired(ILogger logger, string? id, string? expiration);

    [LoggerMessage(Level = LogLevel.Error, Message = "Error finding matching route for event in bulk subscribe {PubSub} and topic {Topic} for entry id {EntryId}: {Error}")]
    private static partial void LogRouteError(ILogger logger, string pubSub, string topic, string entryId, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No matching route for event in pubsub {PubSub} and topic {Topic}; skipping")]
    private static partial void LogNoRoute(ILogger logger, string pubSub, string topic);

    [LoggerMessage(Level = LogLevel.Warning, Message = "bulk delivery to topic {Topic} failed: {Error}")]
    private static partial void LogRetriable(ILogger logger, string topic, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Non-retriable error returned from app while processing bulk pub/sub event. status code returned: {Status}")]
    private static partial void LogNotFound(ILogger logger, int status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Invalid entry id received from app while processing pub/sub event {EntryId}")]
    private static partial void LogInvalidEntryId(ILogger logger, string entryId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "DROP status returned from app while processing pub/sub event {EntryId}")]
    private static partial void LogDropStatus(ILogger logger, string entryId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "bulk pub/sub event {Id} ({Count} entries) of {PubSub}/{Topic} delivered to /{Path}: HTTP {Status} in {ElapsedMs:F3} ms")]
    private static partial void LogDelivered(ILogger logger, string id, int count, string pubSub, string topic, string path, int status, double elapsedMs);

    /// <summary>An entry routed to a path: its index in the batch, its <c>event</c> JSON and content type.</summary>
    private sealed record Routed(int Index, BulkEntry Entry, ReadOnlyMemory<byte> Event, string ContentType, string? TraceParent);
}

/// <summary>The app's answer to a bulk delivery: components-contrib <c>AppBulkResponse</c> decoded as Go's json.Decoder does.</summary>
internal static class AppBulkResponse
{
    private static readonly JsonReaderOptions Options = new() { AllowMultipleValues = true };

    /// <summary>
    /// The <c>statuses</c> of the first JSON value of the body as (entryId, status) pairs, or null with
    /// <paramref name="error"/> set when Go's decoder would fail: empty body (EOF), not JSON, or a value of the wrong type.
    /// Keys match case-insensitively; unknown keys are ignored; null values are zero values.
    /// </summary>
    public static List<(string EntryId, string Status)>? Read(ReadOnlySpan<byte> body, out string? error)
    {
        error = null;
        var result = new List<(string, string)>();
        try
        {
            var reader = new Utf8JsonReader(body, Options);
            if (!reader.Read())
            {
                error = "EOF";
                return null;
            }

            if (reader.TokenType == JsonTokenType.Null)
            {
                return result;
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                error = "json: cannot unmarshal non-object into Go value of type pubsub.AppBulkResponse";
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isStatuses = string.Equals(reader.GetString(), "statuses", StringComparison.OrdinalIgnoreCase);
                reader.Read();
                if (!isStatuses)
                {
                    reader.Skip();
                    continue;
                }

                result.Clear();
                if (reader.TokenType == JsonTokenType.Null)
                {
                    continue;
                }

                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    error = "json: cannot unmarshal statuses into Go struct field AppBulkResponse.statuses";
                    return null;
                }

                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType == JsonTokenType.Null)
                    {
                        result.Add(("", ""));
                        continue;
                    }

                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        error = "json: cannot unmarshal non-object into Go value of type pubsub.AppBulkResponseEntry";
                        return null;
                    }

                    string entryId = "", status = "";
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var name = reader.GetString();
                        reader.Read();
                        var isEntryId = string.Equals(name, "entryId", StringComparison.OrdinalIgnoreCase);
                        var isStatus = string.Equals(name, "status", StringComparison.OrdinalIgnoreCase);
                        if (!isEntryId && !isStatus)
                        {
                            reader.Skip();
                        }
                        else if (reader.TokenType == JsonTokenType.String)
                        {
                            if (isEntryId)
                            {
                                entryId = reader.GetString()!;
                            }
                            else
                            {
                                status = reader.GetString()!;
                            }
                        }
                        else if (reader.TokenType != JsonTokenType.Null)
                        {
                            error = $"json: cannot unmarshal into Go struct field AppBulkResponseEntry.statuses.{name} of type string";
                            return null;
                        }
                    }

                    result.Add((entryId, status));
                }
            }

            return result;
        }
        catch (JsonException ex)
        {
            error = ex.Message;
            return null;
        }
    }
}
