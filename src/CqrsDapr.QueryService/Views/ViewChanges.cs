using System.Collections.Concurrent;

namespace CqrsDapr.QueryService.Views;

/// <summary>
/// In-process signal that a view reached a version: projectors call <see cref="Published"/> after a save, and a read
/// waiting on a consistency token wakes at once instead of polling. Only this replica's saves are seen, so waiters
/// also re-read the store now and then (another replica may have projected the event).
/// </summary>
internal sealed class ViewChanges
{
    private readonly ConcurrentDictionary<Guid, TaskCompletionSource> waiters = new();

    /// <summary>Wakes every reader waiting on <paramref name="id"/>; they re-read the view and check its version.</summary>
    public void Published(Guid id)
    {
        if (waiters.TryRemove(id, out var waiting))
        {
            waiting.TrySetResult();
        }
    }

    /// <summary>A task that completes at the next <see cref="Published"/> for <paramref name="id"/>.</summary>
    public Task NextChangeAsync(Guid id) =>
        waiters.GetOrAdd(id, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
}
