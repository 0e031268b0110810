using System.Text.Json;
using CqrsDapr.CommandService.Http;
using CqrsDapr.CommandService.Idempotency;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace CqrsDapr.CommandService.Products.AdjustStock;

/// <summary><c>POST /api/products/{id}/stock-adjustments</c>: add (positive) or remove (negative) stock, with a reason.</summary>
public sealed record AdjustStockRequest(int Delta, string Reason);

internal static class AdjustStockEndpoint
{
    public const string Command = "adjust-stock";

    private const string Scope = "POST " + ProductRoute.Prefix + "/{id}/stock-adjustments";

    private static readonly string[] Fields = ["delta", "reason"];

    private static readonly string[] MediaTypes = [JsonRequestBody.Json];

    /// <summary>(delta, reason) from <paramref name="body"/>, or null with every invalid field in <paramref name="errors"/>.</summary>
    public static (int Delta, string Reason)? Validate(JsonElement body, FieldErrors errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        ProductFields.RejectUnknown(body, Fields, errors);
        int? delta = null;
        if (!ProductFields.TryGet(body, "delta", out var deltaJson) || deltaJson.ValueKind == JsonValueKind.Null)
        {
            errors.Add("delta", "delta is required.");
        }
        else if (deltaJson.ValueKind != JsonValueKind.Number || !deltaJson.TryGetInt32(out var parsed))
        {
            errors.Add("delta", "delta must be a whole number.");
        }
        else if (parsed == 0)
        {
            errors.Add("delta", "delta must not be zero.");
        }
        else
        {
            delta = parsed;
        }

        string? reason = null;
        if (!ProductFields.TryGet(body, "reason", out var reasonJson))
        {
            errors.Add("reason", "reason is required.");
        }
        else
        {
            reason = ProductFields.Text(reasonJson, "reason", ProductFields.ReasonMaxLength, errors);
        }

        return errors.Any || delta is null || reason is null ? null : (delta.Value, reason);
    }

    public static async Task<Results<Ok<CommandAccepted>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        string id,
        [FromHeader(Name = "If-Match")] string? ifMatch,
        [FromHeader(Name = IdempotencyKeys.Header)] string? idempotencyKey,
        HttpContext http,
        ProductCommandSender commands,
        CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        var productId = ProductRoute.ParseId(id, errors);
        var key = IdempotencyKeys.Read(idempotencyKey, errors);
        var (body, problem) = await JsonRequestBody.ReadObjectAsync(http.Request, MediaTypes, errors, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        var adjustment = body is { } json ? Validate(json, errors) : null;
        if (errors.Any || adjustment is not { } valid || productId is not { } productGuid)
        {
            return Problems.Validation(errors, "The stock adjustment is invalid.");
        }

        var command = new AdjustProductStock(productGuid, valid.Delta, valid.Reason, VersionETag.ExpectedVersion(ifMatch));
        var idempotency = IdempotencyKeys.Request(key, Scope, command, StatusCodes.Status200OK, location: null);
        var reply = await commands.SendAsync(http, productGuid, idempotency,
            nameof(IProductActor.AdjustStockAsync), command, cancellationToken);
        return reply.Problem is { } rejected ? rejected : TypedResults.Ok(reply.Body);
    }
}
