using System.Text.Json;
using CqrsDapr.DaprEmulator.Api.Http;
using CqrsDapr.DaprEmulator.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace CqrsDapr.DaprEmulator.Actors;

/// <summary>
/// The actor part of the Dapr HTTP API v1.0 (daprd 1.16 <c>pkg/api/http/actors.go</c>): routes, verbs, status codes
/// and bodies as daprd has them. The API token middleware runs before these.
/// </summary>
internal static class ActorEndpoints
{
    private const string Prefix = "/v1.0/actors/{actorType}/{actorId}";

    public static void Map(IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapMethods(Prefix + "/method/{method}", ["GET", "POST", "PUT", "DELETE"], InvokeAsync);
        app.MapGet(Prefix + "/state/{key}", GetStateAsync);
        app.MapMethods(Prefix + "/state", ["POST", "PUT"], SaveStateAsync);
        app.MapMethods(Prefix + "/reminders/{name}", ["POST", "PUT"], CreateReminderAsync);
        app.MapGet(Prefix + "/reminders/{name}", GetReminderAsync);
        app.MapDelete(Prefix + "/reminders/{name}", DeleteReminderAsync);
        app.MapMethods(Prefix + "/timers/{name}", ["POST", "PUT"], CreateTimerAsync);
        app.MapDelete(Prefix + "/timers/{name}", DeleteTimerAsync);
    }

    private static async Task InvokeAsync(HttpContext context, string actorType, string actorId, string method, ActorRuntime actors)
    {
        var request = context.Request;
        var body = await RequestBody.ReadAsync(request);
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var (name, values) in request.Headers)
        {
            // daprd forwards the caller's headers as metadata; its auth middleware strips the API token first.
            if (!ActorRuntime.IsHopByHop(name) && !name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)
                && !name.Equals("dapr-api-token", StringComparison.OrdinalIgnoreCase) && !name.Equals("Expect", StringComparison.OrdinalIgnoreCase))
            {
                headers.AddRange(values.Where(v => v is not null).Select(v => new KeyValuePair<string, string>(name, v!)));
            }
        }

        headers.Add(new("Dapr-API-Call", "true"));
        try
        {
            var response = await actors.InvokeAsync(actorType, actorId, method, new ActorCall(body, request.ContentType, request.QueryString.Value ?? "", headers), context.RequestAborted);
            foreach (var (name, value) in response.Headers)
            {
                context.Response.Headers.Append(name, value);
            }

            context.Response.StatusCode = response.StatusCode;
            if (response.ContentType is { } contentType)
            {
                context.Response.ContentType = contentType;
            }

            await context.Response.Body.WriteAsync(response.Body, context.RequestAborted);
        }
        catch (DaprApiException ex)
        {
            await HttpErrors.WriteAsync(context, ex.HttpStatus, ex.ErrorCode, ex.Message);
        }
    }

    private static async Task<IResult> GetStateAsync(HttpContext context, string actorType, string actorId, string key, ActorRuntime actors)
    {
        try
        {
            var entry = await actors.GetStateAsync(actorType, actorId, key, context.RequestAborted);
            if (entry is null || entry.Data.IsEmpty)
            {
                return Results.NoContent();
            }

            if (entry.ExpiresAt is { } expires)
            {
                context.Response.Headers["metadata.ttlExpireTime"] = expires.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
            }

            return Results.Bytes(entry.Data, "application/json");
        }
        catch (DaprApiException ex)
        {
            return HttpErrors.From(ex);
        }
    }

    private static async Task<IResult> SaveStateAsync(HttpContext context, string actorType, string actorId, ActorRuntime actors)
    {
        var body = await RequestBody.ReadAsync(context.Request);
        List<ActorStateOperation> operations;
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind != JsonValueKind.Array)
            {
                throw new JsonException("json: cannot unmarshal object into Go value of type []api.TransactionalOperation");
            }

            operations = doc.RootElement.EnumerateArray().Select(op => new ActorStateOperation(
                op.ValueKind == JsonValueKind.Object && op.TryGetProperty("operation", out var o) && o.ValueKind == JsonValueKind.String ? o.GetString() : null,
                op.ValueKind == JsonValueKind.Object && op.TryGetProperty("request", out var r) && r.ValueKind != JsonValueKind.Null ? r.Clone() : null)).ToList();
        }
        catch (JsonException ex)
        {
            return HttpErrors.From(ActorErrors.MalformedRequest(ex.Message));
        }

        return await HttpErrors.NoContentOrErrorAsync(() => actors.SaveStateAsync(actorType, actorId, operations, context.RequestAborted));
    }

    private static Task<IResult> CreateReminderAsync(HttpContext context, string actorType, string actorId, string name, ActorRuntime actors) =>
        WithScheduleAsync(context, request => actors.CreateReminderAsync(actorType, actorId, name, request, context.RequestAborted));

    private static async Task<IResult> GetReminderAsync(HttpContext context, string actorType, string actorId, string name, ActorRuntime actors)
    {
        try
        {
            return Results.Bytes(await actors.GetReminderAsync(actorType, actorId, name, context.RequestAborted), "application/json");
        }
        catch (DaprApiException ex)
        {
            return HttpErrors.From(ex);
        }
    }

    private static Task<IResult> DeleteReminderAsync(HttpContext context, string actorType, string actorId, string name, ActorRuntime actors) =>
        HttpErrors.NoContentOrErrorAsync(() => actors.DeleteReminderAsync(actorType, actorId, name, context.RequestAborted));

    private static Task<IResult> CreateTimerAsync(HttpContext context, string actorType, string actorId, string name, ActorRuntime actors) =>
        WithScheduleAsync(context, request => actors.CreateTimerAsync(actorType, actorId, name, request, context.RequestAborted));

    private static Task<IResult> DeleteTimerAsync(HttpContext context, string actorType, string actorId, string name, ActorRuntime actors) =>
        HttpErrors.NoContentOrErrorAsync(() => actors.DeleteTimerAsync(actorType, actorId, name, context.RequestAborted));

    private static async Task<IResult> WithScheduleAsync(HttpContext context, Func<ActorScheduleRequest, Task> schedule)
    {
        ActorScheduleRequest request;
        try
        {
            request = ActorScheduleRequest.Parse(await RequestBody.ReadAsync(context.Request));
        }
        catch (JsonException ex)
        {
            return HttpErrors.From(ActorErrors.MalformedRequest(ex.Message));
        }

        return await HttpErrors.NoContentOrErrorAsync(() => schedule(request));
    }
}
