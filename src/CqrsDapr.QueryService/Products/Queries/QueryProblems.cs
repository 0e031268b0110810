using System.Globalization;
using CqrsDapr.Contracts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CqrsDapr.QueryService.Products.Queries;

/// <summary>
/// The ProblemDetails (RFC 9457) the queries answer with; <c>code</c> is a stable, machine-readable reason from
/// <see cref="ProblemCodes"/>.
/// </summary>
internal static class QueryProblems
{
    public static ProblemHttpResult Create(int status, string title, string code, string? detail, Dictionary<string, object?>? more = null)
    {
        var extensions = new Dictionary<string, object?>(more ?? [], StringComparer.Ordinal) { [ProblemMembers.Code] = code };
        return TypedResults.Problem(detail: detail, statusCode: status, title: title, extensions: extensions);
    }

    /// <summary>400 with every invalid parameter or header under <c>errors</c>.</summary>
    public static ValidationProblem Validation(IDictionary<string, string[]> errors) =>
        TypedResults.ValidationProblem(
            errors,
            extensions: new Dictionary<string, object?>(StringComparer.Ordinal) { [ProblemMembers.Code] = ProblemCodes.ValidationFailed });

    public static ProblemHttpResult NotFound(string detail) =>
        Create(StatusCodes.Status404NotFound, "Product not found.", ProblemCodes.ProductNotFound, detail);

    public static ProblemHttpResult ConsistencyTimeout(Guid id, long wanted, long current) =>
        Create(
            StatusCodes.Status503ServiceUnavailable,
            "The views have not caught up with the write yet.",
            ProblemCodes.ConsistencyTimeout,
            string.Create(CultureInfo.InvariantCulture, $"Product {id:D} is at version {current} in the views; the token asks for version {wanted}. Retry shortly."),
            new Dictionary<string, object?>(StringComparer.Ordinal) { ["wantedVersion"] = wanted, ["currentVersion"] = current });
}
