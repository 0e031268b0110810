namespace CqrsDapr.Gateway.Admission;

/// <summary>
/// How much the gateway lets through to each backend side (section <c>Gateway:Admission</c>); what does not fit is
/// refused at once with 503 <c>overloaded</c> instead of piling up on the services' connection pools.
/// </summary>
/// <remarks>
/// The defaults are a starting point, not a measurement: the lead sizes them with the system benchmark, and the Helm
/// chart's <c>gateway.admission</c> values repeat them (tests/CqrsDapr.Deployment.Tests keeps the two equal).
/// </remarks>
public sealed class AdmissionSettings
{
    /// <summary>GET and HEAD, forwarded to query-service.</summary>
    public SideLimits Reads { get; set; } = new() { ConcurrencyLimit = 64, QueueLimit = 64 };

    /// <summary>POST, PUT, PATCH and DELETE, forwarded to command-service.</summary>
    public SideLimits Writes { get; set; } = new() { ConcurrencyLimit = 32, QueueLimit = 32 };

    /// <summary>The <c>Retry-After</c> of a refusal, in seconds.</summary>
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>
    /// Client connections Kestrel keeps open at once (its <c>Limits.MaxConcurrentConnections</c>); further ones are
    /// closed as they are accepted.
    /// </summary>
    /// <remarks>
    /// Every connection is a file descriptor, and so is every connection to a backend (at most the sides' concurrency
    /// limits, see <see cref="BackendConnectionLimit"/>). 768 client connections plus the default 64 + 32 backend ones
    /// leave about 160 of a typical soft limit of 1024 descriptors (<c>ulimit -n</c>) for the process itself (listening
    /// sockets, epoll, the OTLP exporter, files): without a limit a flood of connections would exhaust the descriptors
    /// and the gateway could not even reach its backends. Raise it together with the descriptor limit.
    /// </remarks>
    public int MaxClientConnections { get; set; } = 768;

    /// <summary>The limits of one side.</summary>
    public SideLimits For(AdmissionSide side) => side == AdmissionSide.Reads ? Reads : Writes;

    internal IEnumerable<string> Problems(string section)
    {
        foreach (var side in Enum.GetValues<AdmissionSide>())
        {
            var limits = For(side);
            if (limits.ConcurrencyLimit <= 0)
            {
                yield return $"{section}:{side}:ConcurrencyLimit must be positive.";
            }

            if (limits.QueueLimit < 0)
            {
                yield return $"{section}:{side}:QueueLimit must not be negative.";
            }
        }

        if (RetryAfterSeconds <= 0)
        {
            yield return $"{section}:RetryAfterSeconds must be positive.";
        }

        if (MaxClientConnections <= 0)
        {
            yield return $"{section}:MaxClientConnections must be positive.";
        }
    }
}

/// <summary>Requests of one side forwarded at once, and waiting (oldest first) for one of those places.</summary>
public sealed class SideLimits
{
    public int ConcurrencyLimit { get; set; }

    public int QueueLimit { get; set; }
}
