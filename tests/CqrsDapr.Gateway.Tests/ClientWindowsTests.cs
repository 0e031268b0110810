using CqrsDapr.Gateway.Limits;
using Microsoft.Extensions.Time.Testing;

namespace CqrsDapr.Gateway.Tests;

/// <summary>The per-client fixed windows behind the gateway's 429: counted per client, reopened by time, swept when ended.</summary>
public sealed class ClientWindowsTests
{
    private readonly FakeTimeProvider clock = new();

    [Fact]
    public void A_client_gets_its_permits_then_is_told_how_long_until_its_window_ends()
    {
        var windows = new ClientWindows(permitLimit: 2, TimeSpan.FromSeconds(60), clock);

        Assert.True(windows.TryAcquire("a", out _));
        clock.Advance(TimeSpan.FromSeconds(15));
        Assert.True(windows.TryAcquire("a", out _));
        Assert.False(windows.TryAcquire("a", out var retryAfter));

        Assert.Equal(TimeSpan.FromSeconds(45), retryAfter);
    }

    [Fact]
    public void Clients_are_counted_apart()
    {
        var windows = new ClientWindows(permitLimit: 1, TimeSpan.FromSeconds(60), clock);

        Assert.True(windows.TryAcquire("a", out _));
        Assert.False(windows.TryAcquire("a", out _));
        Assert.True(windows.TryAcquire("b", out _));
    }

    [Fact]
    public void A_new_window_opens_at_the_first_request_after_the_last_one_ended()
    {
        var windows = new ClientWindows(permitLimit: 1, TimeSpan.FromSeconds(10), clock);
        Assert.True(windows.TryAcquire("a", out _));

        clock.Advance(TimeSpan.FromSeconds(9.9));
        Assert.False(windows.TryAcquire("a", out _));
        clock.Advance(TimeSpan.FromSeconds(0.1));
        Assert.True(windows.TryAcquire("a", out _));

        // The new window began at that request, not on a fixed grid.
        clock.Advance(TimeSpan.FromSeconds(9));
        Assert.False(windows.TryAcquire("a", out var retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(1), retryAfter);
    }

    [Fact]
    public void Ended_windows_are_swept_by_a_request_after_a_window_length_so_the_map_holds_recent_clients_only()
    {
        var windows = new ClientWindows(permitLimit: 5, TimeSpan.FromSeconds(10), clock);
        for (var i = 0; i < 1_000; i++)
        {
            Assert.True(windows.TryAcquire($"client-{i}", out _));
        }

        Assert.Equal(1_000, windows.Count);
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.True(windows.TryAcquire("late", out _));

        Assert.Equal(1, windows.Count);
    }

    [Fact]
    public void A_client_still_within_its_window_survives_the_sweep_with_its_count()
    {
        var windows = new ClientWindows(permitLimit: 1, TimeSpan.FromSeconds(10), clock);
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.True(windows.TryAcquire("a", out _));

        clock.Advance(TimeSpan.FromSeconds(5)); // the first sweep is due: "a" has 5 s left
        Assert.True(windows.TryAcquire("b", out _));

        Assert.Equal(2, windows.Count);
        Assert.False(windows.TryAcquire("a", out _));
    }
}
