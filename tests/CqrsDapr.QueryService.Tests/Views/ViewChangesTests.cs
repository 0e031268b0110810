using CqrsDapr.QueryService.Views;

namespace CqrsDapr.QueryService.Tests.Views;

public sealed class ViewChangesTests
{
    private readonly ViewChanges changes = new();

    [Fact]
    public void A_publish_wakes_every_watcher_of_that_id_and_only_them()
    {
        var id = Guid.NewGuid();
        using var first = changes.Start(id);
        using var second = changes.Start(id);
        using var other = changes.Start(Guid.NewGuid());

        changes.Published(id);

        Assert.True(first.Changed.IsCompletedSuccessfully);
        Assert.True(second.Changed.IsCompletedSuccessfully);
        Assert.False(other.Changed.IsCompleted);
    }

    [Fact]
    public void Watches_that_end_without_a_change_leave_nothing_behind()
    {
        var id = Guid.NewGuid();
        var first = changes.Start(id);
        var second = changes.Start(id);

        first.Dispose();
        Assert.Equal(1, changes.WatchedCount); // the other reader still watches
        second.Dispose();
        second.Dispose();

        Assert.Equal(0, changes.WatchedCount);
    }

    [Fact]
    public void A_publish_nobody_watches_is_not_remembered_and_a_later_watch_waits_for_the_next()
    {
        var id = Guid.NewGuid();
        changes.Published(id);
        Assert.Equal(0, changes.WatchedCount);

        using var watch = changes.Start(id);
        Assert.False(watch.Changed.IsCompleted);
        changes.Published(id);
        Assert.True(watch.Changed.IsCompletedSuccessfully);
        Assert.Equal(0, changes.WatchedCount);
    }

    [Fact]
    public async Task Many_readers_watching_and_giving_up_concurrently_with_publishes_leave_no_entries()
    {
        var ids = Enumerable.Range(0, 8).Select(_ => Guid.NewGuid()).ToArray();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; i < 5_000; i++)
            {
                var id = ids[(i + worker) % ids.Length];
                using var watch = changes.Start(id);
                if (i % 3 == 0)
                {
                    changes.Published(id);

                    // Woken by this publish, or by another worker's that took the entry a moment before and is about
                    // to complete it: either way the watch completes.
                    await watch.Changed.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
                }
            }
        }, TestContext.Current.CancellationToken)));

        Assert.Equal(0, changes.WatchedCount);
    }
}
