namespace CqrsDapr.Gateway.Admission;

/// <summary>
/// How much the gateway lets through to each backend side (section <c>Gateway:Admission</c>); what does not fit is
/// refused at once with 503 <c>overloaded</c> instead of piling up on the services' connection pools.
/// </summary>
/// <remarks>
/// The defaults come from the system benchmark's overload section (README, "Under overload"): against 64 + 64 reads and
/// 32 + 32 writes in the same session, 16 + 16 and 8 + 8 kept the admitted requests' p99 and the recovery after an
/// overload several times lower (a request admitted behind a long queue waits out the queue on a saturated machine), at
/// the same goodput up to 2× capacity. The Helm chart's <c>gateway.admission</c> values repeat them
/// (tests/CqrsDapr.Deployment.Tests keeps the two equal).
/// </remarks>
public sealed class AdmissionSettings
{
    /// <summary>GET and HEAD, forwarded to query-service.</summary>
    public SideLimits Reads { get; set; } = new() { ConcurrencyLimit = 16, QueueLimit = 16 };

    /// <summary>POST, PUT, PATCH and DELETE, forwarded to command-service.</summary>
    public SideLimits Writes { get; set; } = new() { ConcurrencyLimit = 8, QueueLimit = 8 };

    /// <summary>The <c>Retry-After</c> of a refusal, in seconds.</summary>
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>
    /// Client connections Kestrel keeps open at once (its <c>Limits.MaxConcurrentConnections</c>); further ones are
    /// closed as they are accepted.
    /// </summary>
    /// <remarks>
    /// Every connection is a file descriptor, and so is every connection to a backend (at most the sides' concurrency
    /// limits, see <see cref="BackendConnectionLimit"/>). 768 client connections plus the default 16 + 8 backend ones
    /// leave about 230 of a typical soft limit of 1024 descriptors (<c>ulimit -n</c>) for the process itself (listening
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
