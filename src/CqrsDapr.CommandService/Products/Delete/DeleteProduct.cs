using CqrsDapr.CommandService.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace CqrsDapr.CommandService.Products.Delete;

/// <summary><c>DELETE /api/products/{id}</c>: 204 with the deletion's <c>ETag</c> and <c>X-Consistency-Token</c>.</summary>
internal static class DeleteProductEndpoint
{
    public const string Command = "delete";

    public static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> HandleAsync(
        string id,
        [FromHeader(Name = "If-Match")] string? ifMatch,
        HttpContext http,
        ProductCommandSender commands,
        CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        if (ProductRoute.ParseId(id, errors) is not { } productId)
        {
            return Problems.Validation(errors, "The product id is invalid.");
        }

        var command = new DeleteProduct(productId, VersionETag.ExpectedVersion(ifMatch));
        var reply = await commands.SendAsync(http, productId, idempotency: null,
            nameof(IProductActor.DeleteAsync), command, cancellationToken);
        return reply.Problem is { } rejected ? rejected : TypedResults.NoContent();
    }
}
