using CqrsDapr.Contracts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CqrsDapr.CommandService.Http;

/// <summary>
/// The ProblemDetails (RFC 9457) this service answers with; <c>code</c> is a stable, machine-readable reason from
/// <see cref="ProblemCodes"/>.
/// </summary>
internal static class Problems
{
    public static ProblemHttpResult Create(int status, string title, string code, string? detail = null) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title, extensions: new Dictionary<string, object?> { [ProblemMembers.Code] = code });

    /// <summary>400 with every invalid field under <c>errors</c>.</summary>
    public static ValidationProblem Validation(FieldErrors errors, string title)
    {
        ArgumentNullException.ThrowIfNull(errors);
        return TypedResults.ValidationProblem(
            errors.ToDictionary(),
            title: title,
            extensions: new Dictionary<string, object?> { [ProblemMembers.Code] = ProblemCodes.ValidationFailed });
    }

    public static ProblemHttpResult UnsupportedMediaType(IEnumerable<string> accepted) =>
        Create(StatusCodes.Status415UnsupportedMediaType, "Unsupported content type.", ProblemCodes.UnsupportedMediaType,
            $"Send the body as {string.Join(" or ", accepted)}.");

    public static ProblemHttpResult PayloadTooLarge() =>
        Create(StatusCodes.Status413PayloadTooLarge, "The request body is too large.", ProblemCodes.PayloadTooLarge,
            $"The limit is {JsonRequestBody.MaxBytes} bytes.");

    public static ProblemHttpResult NotFound(string? detail) =>
        Create(StatusCodes.Status404NotFound, "Product not found.", ProblemCodes.ProductNotFound, detail);

    public static ProblemHttpResult Conflict(string code, string? detail) =>
        Create(StatusCodes.Status409Conflict, "The command conflicts with the product's current state.", code, detail);

    public static ProblemHttpResult PreconditionFailed(string? detail) =>
        Create(StatusCodes.Status412PreconditionFailed, "The product has changed since the version given in If-Match.", ProblemCodes.VersionMismatch, detail);

    /// <summary>504: the actor call ran past its deadline; the command may still take effect.</summary>
    public static ProblemHttpResult ActorCallTimedOut(TimeSpan timeout, bool withIdempotencyKey) =>
        Create(StatusCodes.Status504GatewayTimeout, "The command did not complete in time.", ProblemCodes.BackendTimeout,
            string.Create(System.Globalization.CultureInfo.InvariantCulture, $"The product did not answer within {timeout.TotalSeconds:0.#} s; the command may still take effect. ") +
            (withIdempotencyKey
                ? "Retry with the same Idempotency-Key to get its outcome."
                : "Read the product to see whether it did before retrying."));

    public static ProblemHttpResult IdempotencyKeyReused() =>
        Create(StatusCodes.Status422UnprocessableEntity, "The Idempotency-Key was already used for a different request.", ProblemCodes.IdempotencyKeyReused,
            "Use a new key for a new request; retry a request only with its exact body.");
}
