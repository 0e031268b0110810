namespace CqrsDapr.CommandService.Outbox;

/// <summary>Exponential backoff with jitter: attempt n waits about initial·2ⁿ⁻¹, capped, scaled by a random 50–100 %.</summary>
internal static class OutboxBackoff
{
    public static TimeSpan For(int attempt, TimeSpan initial, TimeSpan max)
    {
        var exponent = Math.Clamp(attempt - 1, 0, 30);
        var capped = Math.Min(initial.TotalMilliseconds * Math.Pow(2, exponent), max.TotalMilliseconds);

        // Jitter spreads the retries of many replicas (and many rows) instead of hitting a recovering broker at once.
        return TimeSpan.FromMilliseconds(capped * (0.5 + (Random.Shared.NextDouble() * 0.5)));
    }
}
