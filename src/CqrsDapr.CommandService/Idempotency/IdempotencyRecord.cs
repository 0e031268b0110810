namespace CqrsDapr.CommandService.Idempotency;

/// <summary>
/// The first response to a request that carried an <c>Idempotency-Key</c>, stored in the same transaction as the
/// change it made: a retry with the same key gets this response back and changes nothing. The request fingerprint
/// detects a key reused for a different request (answered <c>422</c>, as the IETF draft recommends).
/// </summary>
internal sealed class IdempotencyRecord
{
    /// <summary>Scope (method + route template) and the client's key.</summary>
    public required string Key { get; set; }

    public required string RequestFingerprint { get; set; }

    public int StatusCode { get; set; }

    /// <summary>The response body as JSON.</summary>
    public string? ResponseBody { get; set; }

    public string? Location { get; set; }

    public string? ETag { get; set; }

    public string? ConsistencyToken { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}
