using CqrsDapr.Gateway.Admission;

namespace CqrsDapr.Gateway;

/// <summary>The gateway's own settings (section <c>Gateway</c>); the route table lives in <c>ReverseProxy</c>.</summary>
public sealed class GatewayOptions
{
    public const string SectionName = "Gateway";

    /// <summary>Largest request body forwarded to a service; larger ones are answered 413 by the gateway.</summary>
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    public RateLimitSettings RateLimit { get; set; } = new();

    public CorsSettings Cors { get; set; } = new();

    /// <summary>Concurrency limits per backend side and the client connection limit (section <c>Gateway:Admission</c>).</summary>
    public AdmissionSettings Admission { get; set; } = new();

    /// <summary>Addresses or CIDR networks of proxies in front of the gateway whose X-Forwarded-For is believed.</summary>
    public string[] TrustedProxies { get; set; } = [];

    internal IEnumerable<string> Problems()
    {
        if (MaxRequestBodyBytes <= 0)
        {
            yield return $"{SectionName}:MaxRequestBodyBytes must be positive.";
        }

        if (RateLimit.PermitLimit <= 0)
        {
            yield return $"{SectionName}:RateLimit:PermitLimit must be positive.";
        }

        if (RateLimit.WindowSeconds <= 0)
        {
            yield return $"{SectionName}:RateLimit:WindowSeconds must be positive.";
        }

        foreach (var proxy in TrustedProxies.Where(proxy => !Clients.TrustedProxies.IsValid(proxy)))
        {
            yield return $"{SectionName}:TrustedProxies: '{proxy}' is neither an IP address nor a CIDR network.";
        }

        if (Cors.PreflightMaxAgeSeconds < 0)
        {
            yield return $"{SectionName}:Cors:PreflightMaxAgeSeconds must not be negative.";
        }

        foreach (var problem in Admission.Problems($"{SectionName}:Admission"))
        {
            yield return problem;
        }
    }
}

/// <summary>Fixed window per client IP address.</summary>
public sealed class RateLimitSettings
{
    public int PermitLimit { get; set; } = 1000;

    public int WindowSeconds { get; set; } = 60;
}

/// <summary>Cross-origin policy applied by the gateway; preflights are answered here and never forwarded.</summary>
/// <remarks>
/// Lists left empty in configuration fall back to the defaults below (the binder appends to arrays, so the
/// defaults cannot be property initialisers). No origin is allowed unless configured.
/// </remarks>
public sealed class CorsSettings
{
    internal static readonly string[] DefaultMethods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

    internal static readonly string[] DefaultHeaders =
        ["Content-Type", "Accept", "Authorization", "If-Match", "If-None-Match", "Idempotency-Key", "X-Consistency-Token", "X-Correlation-Id"];

    internal static readonly string[] DefaultExposedHeaders = ["ETag", "Location", "Retry-After", "X-Consistency-Token", "X-Correlation-Id"];

    public string[] AllowedOrigins { get; set; } = [];

    public string[] AllowedMethods { get; set; } = [];

    public string[] AllowedHeaders { get; set; } = [];

    public string[] ExposedHeaders { get; set; } = [];

    public int PreflightMaxAgeSeconds { get; set; } = 600;
}
