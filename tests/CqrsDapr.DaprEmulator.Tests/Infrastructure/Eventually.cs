namespace CqrsDapr.DaprEmulator.Tests.Infrastructure;

/// <summary>
/// Waits for state held by another process (a database row, a sidecar's health) with a deadline instead of a fixed
/// sleep. Deliveries to the test app are awaited through <see cref="RequestLog"/>, which is woken by each arrival.
/// </summary>
public static class Eventually
{
    public static async Task<T> Until<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string because)
    {
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(done);
        var deadline = DateTime.UtcNow + timeout;
        var delay = 5;
        while (true)
        {
            var value = await probe();
            if (done(value))
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for: {because}");
            }

            await Task.Delay(delay);
            delay = Math.Min(delay * 2, 100);
        }
    }
}
