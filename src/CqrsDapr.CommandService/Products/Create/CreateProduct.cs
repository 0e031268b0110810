using System.Text.Json;
using CqrsDapr.CommandService.Http;
using CqrsDapr.CommandService.Idempotency;
using CqrsDapr.Contracts.Products;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace CqrsDapr.CommandService.Products.Create;

/// <summary>
/// <c>POST /api/products</c>: the request body (for OpenAPI; the handler validates the raw JSON). SKU and currency
/// are normalised to upper case; <c>stock</c> defaults to 0.
/// </summary>
public sealed record CreateProductRequest(string Sku, string Name, string? Description, string Category, Money Price, int? Stock);

internal static class CreateProductEndpoint
{
    public const string Command = "create";

    private const string Scope = "POST " + ProductRoute.Prefix;

    private static readonly string[] Fields = ["sku", "name", "description", "category", "price", "stock"];

    private static readonly string[] MediaTypes = [JsonRequestBody.Json];

    /// <summary>The product described by <paramref name="body"/>, or null with every invalid field in <paramref name="errors"/>.</summary>
    public static NewProduct? Validate(JsonElement body, FieldErrors errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        ProductFields.RejectUnknown(body, Fields, errors);
        var sku = Required(body, "sku", errors, v => ProductFields.Sku(v, errors));
        var name = Required(body, "name", errors, v => ProductFields.Name(v, errors));
        var category = Required(body, "category", errors, v => ProductFields.Category(v, errors));
        var price = Required(body, "price", errors, v => ProductFields.Price(v, errors));
        string? description = null;
        if (ProductFields.TryGet(body, "description", out var descriptionJson))
        {
            description = ProductFields.Description(descriptionJson, errors, out _);
        }

        var stock = 0;
        if (ProductFields.TryGet(body, "stock", out var stockJson) && stockJson.ValueKind != JsonValueKind.Null)
        {
            stock = ProductFields.Stock(stockJson, errors) ?? 0;
        }

        return errors.Any ? null : new NewProduct(sku!, name!, description, category!, price!, stock);
    }

    public static async Task<Results<Created<CommandAccepted>, ValidationProblem, ProblemHttpResult>> HandleAsync(
        [FromHeader(Name = IdempotencyKeys.Header)] string? idempotencyKey,
        HttpContext http,
        ProductCommandSender commands,
        CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        var key = IdempotencyKeys.Read(idempotencyKey, errors);
        var (body, problem) = await JsonRequestBody.ReadObjectAsync(http.Request, MediaTypes, errors, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        var product = body is { } json ? Validate(json, errors) : null;
        if (errors.Any || product is null)
        {
            return Problems.Validation(errors, "The product is invalid.");
        }

        var command = new CreateProduct(Guid.CreateVersion7(), product);
        // The id is new on every attempt, so the fingerprint covers the product only: a retry matches its first try.
        var location = ProductRoute.Location(command.Id);
        var idempotency = IdempotencyKeys.Request(key, Scope, product, StatusCodes.Status201Created, location);
        var reply = await commands.SendAsync(http, command.Id, idempotency,
            nameof(IProductActor.CreateAsync), command, cancellationToken);
        return reply.Problem is { } rejected
            ? rejected
            : TypedResults.Created(ProductRoute.Location(reply.Body!.Id), reply.Body);
    }

    private static T? Required<T>(JsonElement body, string field, FieldErrors errors, Func<JsonElement, T?> read)
    {
        if (!ProductFields.TryGet(body, field, out var value))
        {
            errors.Add(field, $"{field} is required.");
            return default;
        }

        return read(value);
    }
}
