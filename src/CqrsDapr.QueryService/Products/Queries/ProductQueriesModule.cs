using System.Globalization;
using CqrsDapr.Contracts;
using CqrsDapr.QueryService.Views;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Net.Http.Headers;

namespace CqrsDapr.QueryService.Products.Queries;

/// <summary>
/// The product queries: <c>GET /api/products/{id}</c> and <c>GET /api/products</c>, read from the view store, with the
/// read-your-writes wait of <c>X-Consistency-Token</c> (docs/queries.md). Each answers <c>HEAD</c> too.
/// </summary>
internal static class ProductQueriesModule
{
    public const string ConsistencyTokenHeader = "X-Consistency-Token";
    public const string ConsistencyStatusHeader = "X-Consistency-Status";

    public static WebApplicationBuilder AddProductQueries(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOpenApi();
        builder.Services.AddSingleton<ViewConsistency>();
        builder.Services.AddOptions<ConsistencyOptions>()
            .Bind(builder.Configuration.GetSection(ConsistencyOptions.Section))
            .Validate(o => o.MaxWait > TimeSpan.Zero && o.PollInterval > TimeSpan.Zero, "Consistency:MaxWait and Consistency:PollInterval must be positive.")
            .ValidateOnStart();
        return builder;
    }

    public static WebApplication MapProductQueries(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapOpenApi();
        var products = app.MapGroup("/api/products").WithTags("Products");

        products.MapGetAndHead("/{id}", GetProductAsync)
            .WithName("GetProduct")
            .WithSummary("A product by id, from the read view")
            .WithDescription("ETag is the product version; If-None-Match with it answers 304. X-Consistency-Token waits (bounded) for that write to be visible. HEAD answers the same status and headers without a body.")
            .Produces(StatusCodes.Status304NotModified)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        products.MapGetAndHead("/", ListProductsAsync)
            .WithName("ListProducts")
            .WithSummary("Products filtered, sorted and paged")
            .WithDescription("sort: name, -name, price, -price, updatedAt, -updatedAt. Pass nextPageToken as pageToken, with the same filters and sort, for the next page. HEAD answers the same status and headers without a body.")
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    /// <summary>
    /// Maps <paramref name="handler"/> for GET and, as its own endpoint, for HEAD (RFC 9110 §9.3.2: the same status and
    /// headers, no body; Kestrel drops what the handler writes). The HEAD endpoint stays out of the OpenAPI document,
    /// where it would repeat the GET's operation id. Returns the GET's builder for its OpenAPI metadata.
    /// </summary>
    private static RouteHandlerBuilder MapGetAndHead(this RouteGroupBuilder group, string pattern, Delegate handler)
    {
        group.MapMethods(pattern, [HttpMethods.Head], handler).ExcludeFromDescription();
        return group.MapGet(pattern, handler);
    }

    private static async Task<Results<Ok<ProductResponse>, StatusCodeHttpResult, ValidationProblem, ProblemHttpResult>> GetProductAsync(
        string id,
        [FromHeader(Name = "If-None-Match")] string? ifNoneMatch,
        [FromHeader(Name = ConsistencyTokenHeader)] string? consistencyToken,
        ViewGenerations generations,
        ViewConsistency consistency,
        HttpContext http,
        CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var productId))
        {
            return QueryProblems.Validation(new Dictionary<string, string[]>(StringComparer.Ordinal) { ["id"] = ["The product id is a UUID."] });
        }

        var gate = await AwaitConsistencyAsync(consistencyToken, consistency, http, cancellationToken);
        if (gate.Invalid is { } invalid)
        {
            return invalid;
        }

        if (gate.Behind is { } behind)
        {
            return behind;
        }

        // A token for this very product: the wait has just read its view, at or past the version asked for.
        var stored = gate.Seen is { } seen && seen.View.Id == productId ? seen : null;
        if (stored is null)
        {
            await generations.EnsureLoadedAsync(cancellationToken);
            stored = await generations.Active.GetAsync(productId, cancellationToken);
        }

        if (stored is null || stored.View.Deleted)
        {
            return QueryProblems.NotFound($"There is no product {productId:D}.");
        }

        var etag = string.Create(CultureInfo.InvariantCulture, $"\"{stored.View.Version}\"");
        http.Response.Headers.ETag = etag;
        if (Matches(ifNoneMatch, etag))
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        return TypedResults.Ok(ProductResponse.From(stored.View));
    }

    private static async Task<Results<Ok<ProductListResponse>, ValidationProblem, ProblemHttpResult>> ListProductsAsync(
        [FromQuery] string? category,
        [FromQuery] string? minPrice,
        [FromQuery] string? maxPrice,
        [FromQuery] string? sort,
        [FromQuery] string? pageSize,
        [FromQuery] string? pageToken,
        [FromHeader(Name = ConsistencyTokenHeader)] string? consistencyToken,
        ViewGenerations generations,
        ViewConsistency consistency,
        HttpContext http,
        CancellationToken cancellationToken)
    {
        var (query, errors) = ListProductsParameters.Validate(category, minPrice, maxPrice, sort, pageSize, pageToken);
        if (query is null)
        {
            return QueryProblems.Validation(errors);
        }

        var gate = await AwaitConsistencyAsync(consistencyToken, consistency, http, cancellationToken);
        if (gate.Invalid is { } invalid)
        {
            return invalid;
        }

        if (gate.Behind is { } behind)
        {
            return behind;
        }

        await generations.EnsureLoadedAsync(cancellationToken);
        var page = await generations.Active.QueryAsync(query, cancellationToken);
        return TypedResults.Ok(new ProductListResponse([.. page.Items.Select(ProductResponse.From)], page.NextPageToken));
    }

    /// <summary>
    /// Neither result when there is no token or the view reached its version (then <c>X-Consistency-Status:
    /// consistent</c>, and the token's product view as the wait last read it); otherwise the answer: 400 for a bad
    /// token, 503 with <c>Retry-After</c> when the wait ran out.
    /// </summary>
    private static async Task<(ValidationProblem? Invalid, ProblemHttpResult? Behind, StoredView? Seen)> AwaitConsistencyAsync(string? header, ViewConsistency consistency, HttpContext http, CancellationToken cancellationToken)
    {
        if (header is null)
        {
            return (null, null, null);
        }

        if (!ConsistencyToken.TryParse(header, out var token) || token.AggregateType != ProductView.Type || !Guid.TryParse(token.AggregateId, out var aggregateId))
        {
            return (QueryProblems.Validation(new Dictionary<string, string[]>(StringComparer.Ordinal)
            {
                [ConsistencyTokenHeader] = ["Pass the consistency token of a product command response unchanged."],
            }), null, null);
        }

        var outcome = await consistency.WaitForAsync(aggregateId, token.Version, cancellationToken);
        if (outcome.Reached)
        {
            http.Response.Headers[ConsistencyStatusHeader] = "consistent";
            return (null, null, outcome.Seen);
        }

        http.Response.Headers[ConsistencyStatusHeader] = "behind";
        http.Response.Headers.RetryAfter = "1";
        return (null, QueryProblems.ConsistencyTimeout(aggregateId, token.Version, outcome.Current), null);
    }

    /// <summary>If-None-Match compares weakly (RFC 9110 §13.1.2): <c>*</c> or any listed tag with the same opaque value.</summary>
    private static bool Matches(string? ifNoneMatch, string etag)
    {
        if (string.IsNullOrWhiteSpace(ifNoneMatch))
        {
            return false;
        }

        if (!EntityTagHeaderValue.TryParseList([ifNoneMatch], out var tags))
        {
            return false;
        }

        var current = new EntityTagHeaderValue(etag);
        return tags.Any(t => t.Equals(EntityTagHeaderValue.Any) || t.Compare(current, useStrongComparison: false));
    }
}
