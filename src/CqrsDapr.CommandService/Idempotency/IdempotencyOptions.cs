using Microsoft.Extensions.Options;

namespace CqrsDapr.CommandService.Idempotency;

/// <summary>How long idempotency records count, bound from the <c>Idempotency</c> configuration section and validated on start.</summary>
internal sealed class IdempotencyOptions
{
    public const string Section = "Idempotency";

    /// <summary>The longest <see cref="SweepInterval"/> allowed: a rarer sweep would only let the table grow.</summary>
    public static readonly TimeSpan MaxSweepInterval = TimeSpan.FromDays(1);

    private static readonly TimeSpan Hourly = TimeSpan.FromHours(1);

    /// <summary>
    /// How long a key replays its first response. Older records are expired at once (a retry with the key runs as a new
    /// request, whether or not the sweep has deleted the record yet) and deleted by the sweep. The IETF
    /// idempotency-key draft leaves expiry to the server; clients retry within seconds or minutes, so 24 hours also
    /// covers a client that keeps retrying through an outage of several hours, while the table stays about a day of
    /// keyed commands.
    /// </summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// How often expired records are deleted; unset: the retention, at most hourly. Only the table's size depends on
    /// it, never whether a key replays.
    /// </summary>
    public TimeSpan? SweepInterval { get; set; }

    public TimeSpan EffectiveSweepInterval => SweepInterval ?? (Retention < Hourly ? Retention : Hourly);

    /// <summary>
    /// Records created before this instant are expired at <paramref name="now"/>. Records carry the service's clock
    /// (the actor turn's time), so expiry is measured on the same clock, never the database's; replicas' clocks differ
    /// by far less than a retention.
    /// </summary>
    public DateTimeOffset ExpiredBefore(DateTimeOffset now) => now - Retention;
}

internal sealed class IdempotencyOptionsValidator : IValidateOptions<IdempotencyOptions>
{
    public ValidateOptionsResult Validate(string? name, IdempotencyOptions options)
    {
        var errors = new List<string>();
        if (options.Retention <= TimeSpan.Zero)
        {
            errors.Add($"{IdempotencyOptions.Section}:{nameof(IdempotencyOptions.Retention)} must be positive (was {options.Retention}).");
        }

        if (options.SweepInterval is { } interval && (interval <= TimeSpan.Zero || interval > IdempotencyOptions.MaxSweepInterval))
        {
            errors.Add(
                $"{IdempotencyOptions.Section}:{nameof(IdempotencyOptions.SweepInterval)} must be positive and at most {IdempotencyOptions.MaxSweepInterval} when set (was {interval}); leave it unset for the retention, at most hourly.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
