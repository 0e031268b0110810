using Microsoft.Extensions.Options;

namespace CqrsDapr.CommandService.Outbox;

/// <summary>The relay's settings, bound from the <c>Outbox</c> configuration section and validated on start.</summary>
internal sealed class OutboxOptions
{
    public const string Section = "Outbox";

    /// <summary>
    /// Publish from this process: the dispatch on commit and the relay. Off for processes that only write (the relay
    /// can run elsewhere and takes their rows after <see cref="RelayGrace"/>).
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Publish each event right after its transaction commits, from the process that committed it
    /// (<see cref="OutboxDispatch"/>), and mark it published in batches; the relay then only takes the rows the dispatch
    /// left (older than <see cref="RelayGrace"/>). Off: the relay publishes every row, woken by NOTIFY.
    /// </summary>
    public bool PublishOnCommit { get; set; } = true;

    /// <summary>
    /// With <see cref="PublishOnCommit"/>: how long an unpublished row is left to its dispatch before the relay takes
    /// it. A dispatch gives up after half of it, so the relay does not publish a row while its dispatch is under way
    /// (if the clocks of the process and the database agree within the other half: otherwise the cost is a duplicate,
    /// which consumers ignore).
    /// </summary>
    public TimeSpan RelayGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>With <see cref="PublishOnCommit"/>: how long published rows gather before one statement marks them all.</summary>
    public TimeSpan MarkDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// With <see cref="PublishOnCommit"/>: publishes under way at most; a commit beyond them is left to the relay, so a
    /// slow or absent sidecar never piles up work in the process.
    /// </summary>
    public int MaxDispatchesInFlight { get; set; } = 64;

    /// <summary>Rows claimed and published per transaction.</summary>
    public int BatchSize { get; set; } = 100;

    /// <summary>Fallback poll when no notification arrives (commits normally wake the relay through LISTEN/NOTIFY).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Wake on PostgreSQL NOTIFY. Off only to measure the poll-only baseline; while the listening connection is down
    /// the relay polls every second instead.
    /// </summary>
    public bool ListenForNotifications { get; set; } = true;

    /// <summary>First retry delay after a failed publish; doubles per attempt up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long published rows are kept; null (the default) keeps them forever (the outbox is the event log).</summary>
    public TimeSpan? Retention { get; set; }

    /// <summary>
    /// The <c>outbox</c> health check reports Degraded once the oldest unpublished event has waited longer than this
    /// (the broker or sidecar is down, or the relay cannot keep up). Writes still succeed meanwhile.
    /// </summary>
    public TimeSpan DegradedAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the <c>outbox</c> health check may take; longer counts as Unhealthy (the database does not answer).</summary>
    public TimeSpan HealthCheckTimeout { get; set; } = TimeSpan.FromSeconds(3);
}

internal sealed class OutboxOptionsValidator : IValidateOptions<OutboxOptions>
{
    public ValidateOptionsResult Validate(string? name, OutboxOptions options)
    {
        var errors = new List<string>();
        if (options.BatchSize is < 1 or > 10_000)
        {
            errors.Add($"{OutboxOptions.Section}:{nameof(OutboxOptions.BatchSize)} must be between 1 and 10000 (was {options.BatchSize}).");
        }

        if (options.RelayGrace <= TimeSpan.Zero)
        {
            errors.Add($"{OutboxOptions.Section}:{nameof(OutboxOptions.RelayGrace)} must be positive (was {options.RelayGrace}).");
        }

        if (options.MarkDelay < TimeSpan.Zero)
        {
            errors.Add($"{OutboxOptions.Section}:{nameof(OutboxOptions.MarkDelay)} must not be negative (was {options.MarkDelay}).");
        }

        if (options.MaxDispatchesInFlight < 1)
        {
            errors.Add($"{OutboxOptions.Section}:{nameof(OutboxOptions.MaxDispatchesInFlight)} must be at least 1 (was {options.MaxDispatchesInFlight}).");
        }

        if (options.PollInterval <= TimeSpan.Zero)
        {
            errors.Add($"{OutboxOptions.Section}:{nameof(OutboxOptions.PollInterval)} must be positive (was {options.PollInterval}).");
        }

        if (options.InitialBackoff <= TimeSpan.Zero)
        {
            errors.Add($"{OutboxOptions.Section}:{nameof(OutboxOptions.InitialBackoff)} must be positive (was {options.InitialBackoff}).");
        }

        if (options.MaxBackoff < options.InitialBackoff)
        {
            errors.Add($"{OutboxOptions.Section}:{nameof(OutboxOptions.MaxBackoff)} must be at least {nameof(OutboxOptions.InitialBackoff)} (was {options.MaxBackoff}).");
        }

        if (options.Retention is { } retention && retention <= TimeSpan.Zero)
        {
            errors.Add($"{OutboxOptions.Section}:{nameof(OutboxOptions.Retention)} must be positive when set (was {retention}); leave it unset to keep rows forever.");
        }

        if (options.DegradedAfter <= TimeSpan.Zero)
        {
            errors.Add($"{OutboxOptions.Section}:{nameof(OutboxOptions.DegradedAfter)} must be positive (was {options.DegradedAfter}).");
        }

        if (options.HealthCheckTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{OutboxOptions.Section}:{nameof(OutboxOptions.HealthCheckTimeout)} must be positive (was {options.HealthCheckTimeout}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
