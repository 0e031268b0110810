using System.Text.Json;
using System.Text.Json.Nodes;
using CqrsDapr.DaprEmulator.Hosting;
using CqrsDapr.DaprEmulator.PubSub;
using CqrsDapr.DaprEmulator.State;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;

namespace CqrsDapr.DaprEmulator.Api.Http;

/// <summary>
/// The Dapr HTTP API v1.0 for health, metadata, publish and state, with daprd 1.16's status codes
/// (<c>pkg/api/http/http.go</c>). Anything else answers 501 so a missing feature fails loudly.
/// </summary>
internal static class HttpApi
{
    public static void MapDaprHttpApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1.0/healthz", (SidecarStatus status) => status.Ready
            ? Results.NoContent()
            : HttpErrors.Of(500, "ERR_HEALTH_NOT_READY", "dapr is not ready"));
        app.MapGet("/v1.0/healthz/outbound", (SidecarStatus status) => status.OutboundReady
            ? Results.NoContent()
            : HttpErrors.Of(500, "ERR_OUTBOUND_HEALTH_NOT_READY", "dapr outbound is not ready"));
        app.MapGet("/v1.0/metadata", (MetadataApi metadata) => Results.Json(metadata.ToJson()));
        app.MapPost("/v1.0/shutdown", (IHostApplicationLifetime lifetime) =>
        {
            lifetime.StopApplication();
            return Results.NoContent();
        });

        app.MapPost("/v1.0/publish/{pubsub}/{**topic}", PublishAsync);
        app.MapPost("/v1.0-alpha1/publish/bulk/{pubsub}/{**topic}", BulkPublishAsync);
        app.MapPost("/v1.0/publish/bulk/{pubsub}/{**topic}", BulkPublishAsync);

        app.MapGet("/v1.0/state/{store}/{**key}", GetStateAsync);
        app.MapPost("/v1.0/state/{store}", SaveStateAsync);
        app.MapPut("/v1.0/state/{store}", SaveStateAsync);
        app.MapDelete("/v1.0/state/{store}/{**key}", DeleteStateAsync);
        app.MapPost("/v1.0/state/{store}/bulk", GetBulkStateAsync);
        app.MapPut("/v1.0/state/{store}/bulk", GetBulkStateAsync);
        app.MapPost("/v1.0/state/{store}/transaction", TransactionAsync);
        app.MapPut("/v1.0/state/{store}/transaction", TransactionAsync);
        app.MapPost("/v1.0-alpha1/state/{store}/query", QueryAsync);
        app.MapPut("/v1.0-alpha1/state/{store}/query", QueryAsync);
    }

    /// <summary>Paths the emulator does not implement: 501 with a message instead of a silent 404.</summary>
    public static void MapNotImplementedFallback(this IEndpointRouteBuilder app) =>
        app.MapFallback((HttpContext context) => HttpErrors.Of(
            501,
            "ERR_NOT_IMPLEMENTED",
            $"{context.Request.Method} {context.Request.Path} is not implemented by the Dapr emulator; run daprd for this API"));

    private static async Task<IResult> PublishAsync(string pubsub, string topic, HttpRequest request, PublishApi publish)
    {
        var body = await RequestBody.ReadAsync(request);
        try
        {
            await publish.PublishAsync(
                pubsub,
                topic,
                body,
                request.ContentType,
                QueryMetadata(request),
                request.Headers.TraceParent.ToString(),
                request.Headers.TraceState.ToString(),
                request.HttpContext.RequestAborted);
            return Results.NoContent();
        }
        catch (DaprApiException ex)
        {
            return HttpErrors.From(ex);
        }
    }

    private static async Task<IResult> BulkPublishAsync(string pubsub, string topic, HttpRequest request, PublishApi publish)
    {
        var body = await RequestBody.ReadAsync(request);
        List<BulkPublishEntry> entries;
        try
        {
            var items = JsonSerializer.Deserialize<List<BulkEntryJson>>(body.Span, DaprHttpJson.Options) ?? [];
            entries = items.Select(i => new BulkPublishEntry(
                i.EntryId ?? "",
                EventBytes(i.Event, i.ContentType),
                i.ContentType,
                i.Metadata ?? new Dictionary<string, string>())).ToList();
        }
        catch (JsonException ex)
        {
            return HttpErrors.From(DaprApiException.MalformedRequest(ex.Message));
        }

        try
        {
            var failures = await publish.BulkPublishAsync(
                pubsub, topic, entries, QueryMetadata(request), request.Headers.TraceParent.ToString(), request.Headers.TraceState.ToString(), request.HttpContext.RequestAborted);
            if (failures.Count == 0)
            {
                return Results.NoContent();
            }

            return Results.Json(
                new { failedEntries = failures.Select(f => new { entryId = f.EntryId, error = f.Error }), errorCode = "ERR_PUBSUB_PUBLISH_MESSAGE" },
                statusCode: 500);
        }
        catch (DaprApiException ex)
        {
            return HttpErrors.From(ex);
        }
    }

    private static async Task<IResult> GetStateAsync(string store, string key, HttpRequest request, StateApi state)
    {
        try
        {
            var entry = await state.GetAsync(store, key, request.HttpContext.RequestAborted);
            if (entry is null || entry.Data.IsEmpty)
            {
                return Results.NoContent();
            }

            request.HttpContext.Response.Headers.ETag = entry.ETag;
            return Results.Bytes(entry.Data, "application/json");
        }
        catch (DaprApiException ex)
        {
            return HttpErrors.From(ex);
        }
    }

    private static async Task<IResult> SaveStateAsync(string store, HttpRequest request, StateApi state)
    {
        var body = await RequestBody.ReadAsync(request);
        List<StateSaveItem> items;
        try
        {
            var json = JsonNode.Parse(body.Span) as JsonArray ?? throw new JsonException("expected a JSON array of state items");
            items = json.Select(node =>
            {
                var item = node as JsonObject ?? throw new JsonException("state item must be an object");
                var key = item["key"]?.GetValue<string>() ?? "";
                var value = item["value"] is { } v ? System.Text.Encoding.UTF8.GetBytes(v.ToJsonString()) : "null"u8.ToArray();
                return new StateSaveItem(key, StateValue.Json(value), ETagOf(item["etag"]), ConcurrencyOf(item["options"]), MetadataOf(item["metadata"]));
            }).ToList();
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            return HttpErrors.From(DaprApiException.MalformedRequest(ex.Message));
        }

        if (items.Any(i => string.IsNullOrEmpty(i.Key)))
        {
            return HttpErrors.Of(400, "ERR_MALFORMED_REQUEST", "key is empty");
        }

        return await HttpErrors.NoContentOrErrorAsync(() => state.SaveAsync(store, items, request.HttpContext.RequestAborted));
    }

    private static async Task<IResult> DeleteStateAsync(string store, string key, HttpRequest request, StateApi state)
    {
        var etag = request.Headers.IfMatch.ToString();
        var concurrency = request.Query["concurrency"].ToString() switch
        {
            "first-write" => StateConcurrency.FirstWrite,
            "last-write" => StateConcurrency.LastWrite,
            _ => StateConcurrency.Unspecified,
        };
        return await HttpErrors.NoContentOrErrorAsync(() => state.DeleteAsync(
            store,
            [new StateDeleteItem(key, string.IsNullOrEmpty(etag) ? null : etag, concurrency, QueryMetadata(request))],
            request.HttpContext.RequestAborted));
    }

    private static async Task<IResult> GetBulkStateAsync(string store, HttpRequest request, StateApi state)
    {
        var body = await RequestBody.ReadAsync(request);
        BulkGetJson? bulk;
        try
        {
            bulk = JsonSerializer.Deserialize<BulkGetJson>(body.Span, DaprHttpJson.Options);
        }
        catch (JsonException ex)
        {
            return HttpErrors.From(DaprApiException.MalformedRequest(ex.Message));
        }

        try
        {
            var items = await state.GetBulkAsync(store, bulk?.Keys ?? [], bulk?.Parallelism ?? 0, request.HttpContext.RequestAborted);
            var result = new JsonArray();
            foreach (var item in items)
            {
                var obj = new JsonObject { ["key"] = item.Key };
                if (item.Error is not null)
                {
                    obj["error"] = item.Error;
                }
                else if (!item.Data.IsEmpty)
                {
                    obj["data"] = DataNode(item.Data);
                    obj["etag"] = item.ETag;
                }

                result.Add(obj);
            }

            return Results.Json(result);
        }
        catch (DaprApiException ex)
        {
            return HttpErrors.From(ex);
        }
    }

    private static async Task<IResult> TransactionAsync(string store, HttpRequest request, StateApi state)
    {
        var body = await RequestBody.ReadAsync(request);
        List<StateTransactionItem> items;
        try
        {
            var json = JsonNode.Parse(body.Span) as JsonObject ?? throw new JsonException("expected a JSON object");
            items = (json["operations"] as JsonArray ?? []).Select(node =>
            {
                var op = node as JsonObject ?? throw new JsonException("operation must be an object");
                var req = op["request"] as JsonObject ?? throw new JsonException("operation needs a request");
                var value = req["value"] is { } v ? System.Text.Encoding.UTF8.GetBytes(v.ToJsonString()) : "null"u8.ToArray();
                return new StateTransactionItem(
                    op["operation"]?.GetValue<string>() ?? "",
                    req["key"]?.GetValue<string>() ?? "",
                    StateValue.Json(value),
                    ETagOf(req["etag"]),
                    ConcurrencyOf(req["options"]),
                    MetadataOf(req["metadata"]));
            }).ToList();
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            return HttpErrors.From(DaprApiException.MalformedRequest(ex.Message));
        }

        return await HttpErrors.NoContentOrErrorAsync(() => state.TransactAsync(store, items, request.HttpContext.RequestAborted));
    }

    private static async Task<IResult> QueryAsync(string store, HttpRequest request, StateApi state)
    {
        var body = await RequestBody.ReadAsync(request);
        try
        {
            var result = await state.QueryAsync(store, body, request.HttpContext.RequestAborted);
            var results = new JsonArray();
            foreach (var item in result.Results)
            {
                results.Add(new JsonObject { ["key"] = item.Key, ["data"] = DataNode(item.Data), ["etag"] = item.ETag });
            }

            var response = new JsonObject { ["results"] = results };
            if (!string.IsNullOrEmpty(result.Token))
            {
                response["token"] = result.Token;
            }

            return Results.Json(response);
        }
        catch (DaprApiException ex)
        {
            return HttpErrors.From(ex);
        }
    }

    /// <summary>daprd takes <c>?metadata.key=value</c> query parameters as request metadata.</summary>
    private static Dictionary<string, string> QueryMetadata(HttpRequest request)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in request.Query)
        {
            if (key.StartsWith("metadata.", StringComparison.Ordinal))
            {
                metadata[key["metadata.".Length..]] = value.ToString();
            }
        }

        return metadata;
    }

    private static string? ETagOf(JsonNode? node) => node switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonObject o => o["value"]?.GetValue<string>(),
        _ => node.ToJsonString(),
    };

    private static StateConcurrency ConcurrencyOf(JsonNode? options) => options?["concurrency"]?.GetValue<string>() switch
    {
        "first-write" => StateConcurrency.FirstWrite,
        "last-write" => StateConcurrency.LastWrite,
        _ => StateConcurrency.Unspecified,
    };

    private static Dictionary<string, string> MetadataOf(JsonNode? node) =>
        node is JsonObject obj
            ? obj.ToDictionary(kv => kv.Key, kv => kv.Value is JsonValue v && v.TryGetValue<string>(out var s) ? s : kv.Value?.ToJsonString() ?? "", StringComparer.Ordinal)
            : new Dictionary<string, string>(StringComparer.Ordinal);

    private static JsonNode? DataNode(ReadOnlyMemory<byte> data)
    {
        try
        {
            return JsonNode.Parse(data.Span);
        }
        catch (JsonException)
        {
            return JsonValue.Create(System.Text.Encoding.UTF8.GetString(data.Span));
        }
    }

    private static ReadOnlyMemory<byte> EventBytes(JsonElement element, string? contentType) =>
        element.ValueKind == JsonValueKind.String && !(contentType is not null && CloudEvents.IsJsonContentType(contentType))
            ? System.Text.Encoding.UTF8.GetBytes(element.GetString()!)
            : System.Text.Encoding.UTF8.GetBytes(element.GetRawText());

    private sealed record BulkEntryJson(string? EntryId, JsonElement Event, string? ContentType, Dictionary<string, string>? Metadata);

    private sealed record BulkGetJson(List<string>? Keys, int? Parallelism);
}
