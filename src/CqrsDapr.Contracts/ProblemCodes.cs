namespace CqrsDapr.Contracts;

/// <summary>
/// The <c>code</c> of every error response (RFC 9457 ProblemDetails extension member <see cref="ProblemMembers.Code"/>):
/// a stable, machine-readable reason in kebab-case, defined here once for the gateway and both services. Clients
/// branch on <c>code</c>, never on <c>title</c> or <c>detail</c>. A code, once published, is never renamed or reused.
/// </summary>
/// <remarks>
/// The specific codes are set where the error is decided. Every other problem (status-code pages, unhandled
/// exceptions, framework rejections) gets the general code of its status from <see cref="ForStatus"/>, set centrally
/// by the service defaults.
/// </remarks>
public static class ProblemCodes
{
    // Specific reasons.

    /// <summary>400: request fields, parameters or headers are invalid; <c>errors</c> lists each one.</summary>
    public const string ValidationFailed = "validation-failed";

    /// <summary>400: a query parameter of an internal endpoint (the event log) is invalid.</summary>
    public const string InvalidQueryParameter = "invalid-query-parameter";

    /// <summary>404: no product with this id (or it was deleted).</summary>
    public const string ProductNotFound = "product-not-found";

    /// <summary>409: a product with this id already exists.</summary>
    public const string ProductExists = "product-exists";

    /// <summary>409: a live product already has this SKU.</summary>
    public const string DuplicateSku = "duplicate-sku";

    /// <summary>409: the stock adjustment would take the stock below zero.</summary>
    public const string StockBelowZero = "stock-below-zero";

    /// <summary>409: the stock adjustment would take the stock above its maximum.</summary>
    public const string StockOverflow = "stock-overflow";

    /// <summary>409: the product kept changing while the command ran; retry.</summary>
    public const string ConcurrentModification = "concurrent-modification";

    /// <summary>409: a view rebuild is already running (internal endpoint).</summary>
    public const string RebuildRunning = "rebuild-running";

    /// <summary>412: the product's version is not the one given in <c>If-Match</c>.</summary>
    public const string VersionMismatch = "version-mismatch";

    /// <summary>422: the <c>Idempotency-Key</c> was already used for a different request.</summary>
    public const string IdempotencyKeyReused = "idempotency-key-reused";

    /// <summary>503: the views did not reach the version of <c>X-Consistency-Token</c> in time (with <c>Retry-After</c>).</summary>
    public const string ConsistencyTimeout = "consistency-timeout";

    /// <summary>502/503: the gateway could not reach the service behind it.</summary>
    public const string BackendUnavailable = "backend-unavailable";

    /// <summary>504: the service behind the gateway did not answer in time.</summary>
    public const string BackendTimeout = "backend-timeout";

    /// <summary>
    /// 503: the gateway is at its limit of concurrent reads or writes and refused the request without forwarding it
    /// (with <c>Retry-After</c>); nothing was done, so any request may be retried.
    /// </summary>
    public const string Overloaded = "overloaded";

    // General reasons, one per status (also what <see cref="ForStatus"/> gives).

    /// <summary>400: the request is malformed (not a field validation).</summary>
    public const string BadRequest = "bad-request";

    /// <summary>401: missing or invalid credentials (the Dapr app API token on sidecar-only endpoints).</summary>
    public const string Unauthorized = "unauthorized";

    /// <summary>403.</summary>
    public const string Forbidden = "forbidden";

    /// <summary>404: no such route or resource.</summary>
    public const string NotFound = "not-found";

    /// <summary>405: the route exists but not for this method (see <c>Allow</c>).</summary>
    public const string MethodNotAllowed = "method-not-allowed";

    /// <summary>406.</summary>
    public const string NotAcceptable = "not-acceptable";

    /// <summary>408.</summary>
    public const string RequestTimeout = "request-timeout";

    /// <summary>409.</summary>
    public const string Conflict = "conflict";

    /// <summary>412.</summary>
    public const string PreconditionFailed = "precondition-failed";

    /// <summary>413: the request body is over the limit (1 MiB at the gateway, 64 KiB for a command).</summary>
    public const string PayloadTooLarge = "payload-too-large";

    /// <summary>415: the body is not in a content type the endpoint accepts.</summary>
    public const string UnsupportedMediaType = "unsupported-media-type";

    /// <summary>422.</summary>
    public const string UnprocessableContent = "unprocessable-content";

    /// <summary>429: too many requests from this client; wait for <c>Retry-After</c> seconds.</summary>
    public const string RateLimited = "rate-limited";

    /// <summary>Any other 4xx.</summary>
    public const string ClientError = "client-error";

    /// <summary>500: an unexpected error; the response carries no details (see the logs and trace for <c>traceId</c>).</summary>
    public const string InternalError = "internal-error";

    /// <summary>503.</summary>
    public const string ServiceUnavailable = "service-unavailable";

    /// <summary>Any other 5xx.</summary>
    public const string ServerError = "server-error";

    /// <summary>The general code of an error status: what a problem gets when whoever wrote it set no code.</summary>
    public static string ForStatus(int status) => status switch
    {
        400 => BadRequest,
        401 => Unauthorized,
        403 => Forbidden,
        404 => NotFound,
        405 => MethodNotAllowed,
        406 => NotAcceptable,
        408 => RequestTimeout,
        409 => Conflict,
        412 => PreconditionFailed,
        413 => PayloadTooLarge,
        415 => UnsupportedMediaType,
        422 => UnprocessableContent,
        429 => RateLimited,
        500 => InternalError,
        502 => BackendUnavailable,
        503 => ServiceUnavailable,
        504 => BackendTimeout,
        >= 500 => ServerError,
        _ => ClientError,
    };
}

/// <summary>Names of the extension members this system adds to RFC 9457 ProblemDetails.</summary>
public static class ProblemMembers
{
    /// <summary>The machine-readable reason, one of <see cref="ProblemCodes"/>.</summary>
    public const string Code = "code";
}
