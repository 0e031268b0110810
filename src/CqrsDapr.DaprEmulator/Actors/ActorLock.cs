namespace CqrsDapr.DaprEmulator.Actors;

/// <summary>
/// Turn-based access to one actor, as daprd 1.16 <c>pkg/actors/targets/app/lock</c>: calls form a FIFO queue of
/// "flights"; only the front flight runs. Without reentrancy every call is its own flight. With reentrancy every call
/// carries a <c>Dapr-Reentrancy-Id</c> (daprd generates a UUID when the caller sent none); a call whose id matches a
/// queued or running flight joins it (depth + 1, at most <c>maxStackDepth</c>) instead of queueing behind it, so
/// A → B → A re-enters A while unrelated calls still wait their turn.
/// </summary>
internal sealed class ActorLock(bool reentrancyEnabled, int maxStackDepth)
{
    public const string ReentrancyHeader = "Dapr-Reentrancy-Id";

    private readonly Lock gate = new();
    private readonly LinkedList<Flight> flights = new();
    private bool closed;

    /// <summary>
    /// Waits for this call's turn. <paramref name="reentrancyId"/> is the caller's <c>Dapr-Reentrancy-Id</c>; the
    /// returned turn says which id to send to the app (null when reentrancy is off: the caller's header is then
    /// forwarded untouched, as daprd forwards every header). Throws <see cref="ActorClosedException"/> once the actor
    /// was deactivated (the caller retries on a fresh activation) and the max-stack-depth error when re-entered too deep.
    /// </summary>
    public async Task<ActorTurn> AcquireAsync(string? reentrancyId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Flight flight;
        string? sentId = null;
        lock (gate)
        {
            if (closed)
            {
                throw new ActorClosedException();
            }

            var id = Guid.NewGuid().ToString();
            var joinable = false;
            if (reentrancyEnabled)
            {
                joinable = true;
                if (!string.IsNullOrEmpty(reentrancyId))
                {
                    id = reentrancyId;
                }

                sentId = id;
            }

            var existing = joinable ? flights.FirstOrDefault(f => f.Id == id) : null;
            if (existing is not null)
            {
                if (existing.Depth + 1 > maxStackDepth)
                {
                    // daprd 1.16 leaves the depth incremented here, which wedges the actor; the emulator does not.
                    throw ActorErrors.MaxStackDepthExceeded();
                }

                existing.Depth++;
                flight = existing;
            }
            else
            {
                flight = new Flight(id);
                if (flights.Count == 0)
                {
                    flight.Started.TrySetResult();
                }

                flights.AddLast(flight);
            }
        }

        try
        {
            await flight.Started.Task.WaitAsync(cancellationToken);
        }
        catch
        {
            Release(flight);
            throw;
        }

        return new ActorTurn(this, flight, sentId);
    }

    /// <summary>
    /// Closes the lock for good (deactivation): waiting calls fail with <see cref="ActorClosedException"/> and new
    /// calls are refused, so both retry on a fresh activation. The caller holds the current turn.
    /// </summary>
    public void Close()
    {
        List<Flight> waiting;
        lock (gate)
        {
            closed = true;
            waiting = flights.Skip(1).ToList();
        }

        foreach (var flight in waiting)
        {
            flight.Started.TrySetException(new ActorClosedException());
        }
    }

    private void Release(Flight flight)
    {
        lock (gate)
        {
            if (--flight.Depth > 0)
            {
                return;
            }

            var wasFront = flights.First?.Value == flight;
            flights.Remove(flight);
            if (wasFront && flights.First is { } next)
            {
                if (closed)
                {
                    next.Value.Started.TrySetException(new ActorClosedException());
                }
                else
                {
                    next.Value.Started.TrySetResult();
                }
            }
        }
    }

    internal sealed class Flight(string id)
    {
        public string Id { get; } = id;

        public int Depth { get; set; } = 1;

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>A held turn; disposing it lets the next flight run.</summary>
    internal sealed class ActorTurn(ActorLock owner, Flight flight, string? reentrancyId) : IDisposable
    {
        private int released;

        /// <summary>The <c>Dapr-Reentrancy-Id</c> to send to the app, or null when reentrancy is off.</summary>
        public string? ReentrancyId { get; } = reentrancyId;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
            {
                owner.Release(flight);
            }
        }
    }
}

/// <summary>The actor was deactivated while the call waited: retry on a new activation (daprd's "closed" error).</summary>
internal sealed class ActorClosedException() : Exception("actor is closed (deactivated)");
