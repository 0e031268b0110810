namespace CqrsDapr.Benchmarks;

/// <summary>
/// One answer as the overload section reads it: the status (0: no answer), the ProblemDetails <c>code</c> of an error
/// answer (for status 0, <see cref="Timeout"/> or <see cref="ConnectionError"/>), whether it carried
/// <c>Retry-After</c>, and for an accepted create the new id and its consistency token.
/// </summary>
internal readonly record struct Answer(int Status, string? Code, bool RetryAfter, string? Id = null, string? Token = null)
{
    /// <summary>The gateway's admission refusal: 503 with this code (and <c>Retry-After</c>).</summary>
    public const string OverloadedCode = "overloaded";

    /// <summary>No answer within the client's timeout.</summary>
    public const string Timeout = "timeout";

    /// <summary>No answer: the connection failed or was closed.</summary>
    public const string ConnectionError = "connection-error";

    public bool IsAdmitted => Status is >= 200 and <= 299;

    /// <summary>Refused by the gateway's admission control: 503 with code "overloaded".</summary>
    public bool IsOverloaded => Status == 503 && Code == OverloadedCode;

    /// <summary>"503 backend-unavailable", "504", "timeout": how a non-2xx answer is counted in the report.</summary>
    public string Label => Status == 0 ? Code ?? ConnectionError : Code is null ? $"{Status}" : $"{Status} {Code}";
}
