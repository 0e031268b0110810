using System.Text.Json;
using CqrsDapr.CommandService.Http;
using CqrsDapr.Contracts.Products;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace CqrsDapr.CommandService.Products.Update;

/// <summary>
/// <c>PATCH /api/products/{id}</c>: a JSON merge patch (RFC 7396) of any subset of these fields (for OpenAPI; the
/// handler validates the raw JSON). A null description clears it; null for any other field is an error.
/// </summary>
public sealed record UpdateProductRequest(string? Name, string? Description, string? Category, Money? Price);

internal static class UpdateProductEndpoint
{
    public const string Command = "update";

    private static readonly string[] Fields = ["name", "description", "category", "price"];

    private static readonly string[] MediaTypes = [JsonRequestBody.MergePatchJson, JsonRequestBody.Json];

    /// <summary>The patch in <paramref name="body"/>, or null with every invalid field in <paramref name="errors"/>.</summary>
    public static ProductPatch? Validate(JsonElement body, FieldErrors errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        foreach (var member in body.EnumerateObject())
        {
            if (!Fields.Contains(member.Name, StringComparer.OrdinalIgnoreCase))
            {
                errors.Add(member.Name, member.Name is "sku" or "stock" or "id"
                    ? $"{member.Name} cannot be changed with a patch."
                    : $"'{member.Name}' is not a field of this request.");
            }
        }

        var patch = new ProductPatch();
        if (ProductFields.TryGet(body, "name", out var name))
        {
            patch = patch with { Name = ProductFields.Name(name, errors) };
        }

        if (ProductFields.TryGet(body, "description", out var description))
        {
            patch = patch with { SetsDescription = true, Description = ProductFields.Description(description, errors, out _) };
        }

        if (ProductFields.TryGet(body, "category", out var category))
        {
            patch = patch with { Category = ProductFields.Category(category, errors) };
        }

        if (ProductFields.TryGet(body, "price", out var price))
        {
            patch = patch with
            {
                Price = price.ValueKind == JsonValueKind.Null ? NullPrice(errors) : ProductFields.Price(price, errors),
            };
        }

        return errors.Any ? null : patch;
    }

    public static async Task<Results<Ok<CommandAccepted>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        string id,
        [FromHeader(Name = "If-Match")] string? ifMatch,
        HttpContext http,
        ProductCommandSender commands,
        CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        var productId = ProductRoute.ParseId(id, errors);
        var (body, problem) = await JsonRequestBody.ReadObjectAsync(http.Request, MediaTypes, errors, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        var patch = body is { } json ? Validate(json, errors) : null;
        if (errors.Any || patch is null || productId is not { } productGuid)
        {
            return Problems.Validation(errors, "The patch is invalid.");
        }

        var command = new UpdateProduct(productGuid, patch, VersionETag.ExpectedVersion(ifMatch));
        var reply = await commands.SendAsync(http, productGuid, idempotency: null,
            nameof(IProductActor.UpdateAsync), command, cancellationToken);
        return reply.Problem is { } rejected ? rejected : TypedResults.Ok(reply.Body);
    }

    private static Money? NullPrice(FieldErrors errors)
    {
        errors.Add("price", "price is required and cannot be null.");
        return null;
    }
}
