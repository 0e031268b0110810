using Microsoft.Extensions.Options;

namespace CqrsDapr.QueryService.Views;

/// <summary>How long a read that presents a consistency token may wait for the views to catch up (section <c>Consistency</c>).</summary>
internal sealed class ConsistencyOptions
{
    public const string Section = "Consistency";

    /// <summary>The longest a read waits before it answers 503 (behind). Default 2 s.</summary>
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often a waiting read re-reads the store, for views another replica projected. Default 200 ms.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(200);
}

/// <summary>Where a product view stands against a version a reader asked for.</summary>
/// <param name="Reached">True when the view's version is at least the wanted one.</param>
/// <param name="Current">The view's version when last read (0 when there is no view yet).</param>
/// <param name="Seen">The view as last read (null when there is none): a read by id answers with it instead of reading
/// the store again, as it is at least as new as the version asked for.</param>
internal readonly record struct ConsistencyOutcome(bool Reached, long Current, StoredView? Seen);

/// <summary>
/// Waits, bounded by <see cref="ConsistencyOptions.MaxWait"/>, until the product view of an aggregate reaches a version:
/// woken at once by this replica's projector (<see cref="ViewChanges"/>), and re-reading the store every
/// <see cref="ConsistencyOptions.PollInterval"/> for what other replicas projected.
/// A tombstone counts: a deleted product is consistent once its deletion is projected.
/// </summary>
internal sealed class ViewConsistency(ViewGenerations generations, ViewChanges changes, IOptions<ConsistencyOptions> options, TimeProvider time)
{
    public async Task<ConsistencyOutcome> WaitForAsync(Guid id, long version, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var started = time.GetTimestamp();
        await generations.EnsureLoadedAsync(cancellationToken);
        while (true)
        {
            using var watch = changes.Start(id); // taken before the read, so a publish in between is not missed
            var seen = await generations.Active.GetAsync(id, cancellationToken);
            var current = seen?.View.Version ?? 0;
            if (current >= version)
            {
                return new ConsistencyOutcome(true, current, seen);
            }

            var remaining = settings.MaxWait - time.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
            {
                return new ConsistencyOutcome(false, current, seen);
            }

            var pause = remaining < settings.PollInterval ? remaining : settings.PollInterval;
            await Task.WhenAny(watch.Changed, Task.Delay(pause, time, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }
    }
}
