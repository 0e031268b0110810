namespace CqrsDapr.DaprEmulator.Actors;

/// <summary>Identity of one actor: type and id.</summary>
internal readonly record struct ActorKey(string Type, string Id)
{
    public override string ToString() => Type + "||" + Id;
}

/// <summary>
/// One activation in the sidecar's actor table (daprd 1.16 <c>pkg/actors/targets/app</c>): created by the first call,
/// removed when deactivated. Every turn pushes <see cref="IdleAt"/> to now + idle timeout, as daprd does when it
/// takes the lock.
/// </summary>
internal sealed class ActiveActor
{
    private long idleAtUtcTicks;
    private int deactivating;

    public ActiveActor(ActorKey key, ActorTypeSettings settings, DateTimeOffset now)
    {
        Key = key;
        Settings = settings;
        Lock = new ActorLock(settings.ReentrancyEnabled, settings.MaxStackDepth);
        Touch(now);
    }

    public ActorKey Key { get; }

    public ActorTypeSettings Settings { get; }

    public ActorLock Lock { get; }

    public DateTimeOffset IdleAt => new(Interlocked.Read(ref idleAtUtcTicks), TimeSpan.Zero);

    public void Touch(DateTimeOffset now)
    {
        var idleAt = Settings.IdleTimeout >= DateTimeOffset.MaxValue - now ? DateTimeOffset.MaxValue : now + Settings.IdleTimeout;
        Interlocked.Exchange(ref idleAtUtcTicks, idleAt.UtcTicks);
    }

    /// <summary>Only one deactivation per activation (idle scan and shutdown may both try).</summary>
    public bool TryBeginDeactivation() => Interlocked.CompareExchange(ref deactivating, 1, 0) == 0;

    /// <summary>The actor was used while the deactivation waited for its turn: it stays active.</summary>
    public void AbandonDeactivation() => Volatile.Write(ref deactivating, 0);
}
