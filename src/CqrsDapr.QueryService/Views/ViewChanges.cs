using System.Collections.Concurrent;

namespace CqrsDapr.QueryService.Views;

/// <summary>
/// In-process signal that a view reached a version: projectors call <see cref="Published"/> after a save, and a read
/// waiting on a consistency token wakes at once instead of polling. Only this replica's saves are seen, so waiters
/// also re-read the store now and then (another replica may have projected the event). An id is tracked only while
/// someone watches it: a watch that ends without a change (a read that gave up) leaves nothing behind.
/// </summary>
internal sealed class ViewChanges
{
    private readonly ConcurrentDictionary<Guid, Watchers> watched = new();

    /// <summary>Ids watched right now.</summary>
    public int WatchedCount => watched.Count;

    /// <summary>Wakes every reader watching <paramref name="id"/>; they re-read the view and check its version.</summary>
    public void Published(Guid id)
    {
        if (!watched.IsEmpty && watched.TryRemove(id, out var watchers))
        {
            watchers.Close();
            watchers.Signal.TrySetResult();
        }
    }

    /// <summary>
    /// Starts watching <paramref name="id"/>: <see cref="Watch.Changed"/> completes at the next <see cref="Published"/>.
    /// Take the watch before reading the view, so a save in between is not missed; dispose it when done.
    /// </summary>
    public Watch Start(Guid id)
    {
        while (true)
        {
            var watchers = watched.GetOrAdd(id, _ => new Watchers());
            if (watchers.TryJoin())
            {
                return new Watch(this, id, watchers);
            }
        }
    }

    /// <summary>One reader's interest in one id.</summary>
    public sealed class Watch : IDisposable
    {
        private readonly ViewChanges owner;
        private readonly Guid id;
        private Watchers? watchers;

        internal Watch(ViewChanges owner, Guid id, Watchers watchers)
        {
            this.owner = owner;
            this.id = id;
            this.watchers = watchers;
            Changed = watchers.Signal.Task;
        }

        public Task Changed { get; }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref watchers, null) is { } left && left.Leave())
            {
                owner.watched.TryRemove(new KeyValuePair<Guid, Watchers>(id, left));
            }
        }
    }

    /// <summary>The readers of one id and their shared signal; closed once signalled or left by the last reader.</summary>
    internal sealed class Watchers
    {
        private readonly Lock gate = new();
        private int count;
        private bool closed;

        public TaskCompletionSource Signal { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool TryJoin()
        {
            lock (gate)
            {
                if (closed)
                {
                    return false;
                }

                count++;
                return true;
            }
        }

        /// <summary>True when this was the last reader (the entry should go).</summary>
        public bool Leave()
        {
            lock (gate)
            {
                count--;
                if (count > 0 || closed)
                {
                    return false;
                }

                closed = true;
                return true;
            }
        }

        public void Close()
        {
            lock (gate)
            {
                closed = true;
            }
        }
    }
}
