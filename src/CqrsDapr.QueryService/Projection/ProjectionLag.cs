using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace CqrsDapr.QueryService.Projection;

/// <summary>Settings of the <c>projection</c> health check (section <c>Projection</c>), validated on start.</summary>
internal sealed class ProjectionHealthOptions
{
    public const string Section = "Projection";

    /// <summary>A batch whose lag (event occurred-at → view saved, its slowest event) exceeds this counts as late.</summary>
    public TimeSpan DegradedLag { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Degraded once batches have been late for longer than this without one in time: a spike is no problem.</summary>
    public TimeSpan DegradedLagFor { get; set; } = TimeSpan.FromSeconds(30);
}

internal sealed class ProjectionHealthOptionsValidator : IValidateOptions<ProjectionHealthOptions>
{
    public ValidateOptionsResult Validate(string? name, ProjectionHealthOptions options)
    {
        var errors = new List<string>();
        if (options.DegradedLag <= TimeSpan.Zero)
        {
            errors.Add($"{ProjectionHealthOptions.Section}:{nameof(ProjectionHealthOptions.DegradedLag)} must be positive (was {options.DegradedLag}).");
        }

        if (options.DegradedLagFor < TimeSpan.Zero)
        {
            errors.Add($"{ProjectionHealthOptions.Section}:{nameof(ProjectionHealthOptions.DegradedLagFor)} must not be negative (was {options.DegradedLagFor}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>
/// Follows the lag of the live batches (what <c>cqrsdapr.projection.lag</c> records, each batch's slowest applied
/// event) and remembers since when it has stayed above <c>Projection:DegradedLag</c>. One batch in time clears it.
/// </summary>
/// <remarks>
/// After late batches, silence keeps the state: no event arriving cannot be told apart from deliveries that stopped,
/// so only a batch in time makes the projection healthy again. Never any batch (idle) is healthy.
/// </remarks>
internal sealed class ProjectionLag(IOptions<ProjectionHealthOptions> options, TimeProvider time)
{
    private readonly Lock gate = new();
    private DateTimeOffset? lateSince;
    private TimeSpan lastLag;
    private DateTimeOffset? lastBatchAt;

    /// <summary>A live batch applied at least one event; <paramref name="lag"/> is its slowest event's.</summary>
    public void BatchApplied(TimeSpan lag)
    {
        var now = time.GetUtcNow();
        lock (gate)
        {
            lastLag = lag;
            lastBatchAt = now;
            if (lag <= options.Value.DegradedLag)
            {
                lateSince = null;
            }
            else
            {
                lateSince ??= now;
            }
        }
    }

    /// <summary>The state as the health check reports it.</summary>
    public HealthCheckResult Evaluate()
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        DateTimeOffset? since;
        TimeSpan lag;
        DateTimeOffset? batchAt;
        lock (gate)
        {
            (since, lag, batchAt) = (lateSince, lastLag, lastBatchAt);
        }

        if (batchAt is null)
        {
            return HealthCheckResult.Healthy("No event projected yet.");
        }

        var data = new Dictionary<string, object>
        {
            ["lastBatchLagSeconds"] = Math.Round(lag.TotalSeconds, 3),
            ["lastBatchAgoSeconds"] = Math.Round((now - batchAt.Value).TotalSeconds, 3),
        };
        if (since is not { } lateFrom)
        {
            return HealthCheckResult.Healthy(Invariant($"The last batch was {lag.TotalSeconds:0.###} s behind."), data);
        }

        var late = now - lateFrom;
        data["lateForSeconds"] = Math.Round(late.TotalSeconds, 3);
        var description = Invariant($"Projection lag above {settings.DegradedLag.TotalSeconds:0.###} s for {late.TotalSeconds:0} s (last batch {lag.TotalSeconds:0.#} s behind).");
        return late > settings.DegradedLagFor
            ? HealthCheckResult.Degraded(description, data: data)
            : HealthCheckResult.Healthy(description, data);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// Health check <c>projection</c> (on <c>/health</c> only): Degraded while <see cref="ProjectionLag"/> says the lag has
/// stayed too high; never Unhealthy, since reads are still served (only staler) and a restart would not make the
/// events arrive sooner.
/// </summary>
internal sealed class ProjectionHealthCheck(ProjectionLag lag) : IHealthCheck
{
    public const string Name = "projection";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(lag.Evaluate());
}
