using System.Collections.Concurrent;
using System.Text;
using CqrsDapr.DaprEmulator.Tests.Infrastructure;
using Dapr.Actors;
using Dapr.Actors.Runtime;
using Microsoft.Extensions.DependencyInjection;

namespace CqrsDapr.DaprEmulator.Tests.Actors;

/// <summary>What the test actors did, observable from the test (one per test app: it lives in the app's DI).</summary>
public sealed class ActorProbe
{
    private readonly Lock gate = new();
    private readonly List<string> events = [];
    private readonly ConcurrentDictionary<string, int> running = new(StringComparer.Ordinal);
    private TaskCompletionSource changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int concurrent;
    private int maxConcurrent;

    /// <summary>The most calls that ran inside actors at the same time.</summary>
    public int MaxConcurrent => Volatile.Read(ref maxConcurrent);

    public IReadOnlyList<string> Events
    {
        get
        {
            lock (gate)
            {
                return [.. events];
            }
        }
    }

    public int Count(string @event) => Events.Count(e => e == @event);

    public void Record(string @event)
    {
        TaskCompletionSource wake;
        lock (gate)
        {
            events.Add(@event);
            wake = changed;
            changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        wake.TrySetResult();
    }

    /// <summary>Marks a call as running inside an actor until the returned scope is disposed.</summary>
    public IDisposable Enter(string actorId)
    {
        running.AddOrUpdate(actorId, 1, (_, n) => n + 1);
        var now = Interlocked.Increment(ref concurrent);
        int seen;
        while (now > (seen = Volatile.Read(ref maxConcurrent)) && Interlocked.CompareExchange(ref maxConcurrent, now, seen) != seen)
        {
        }

        return new Scope(() =>
        {
            Interlocked.Decrement(ref concurrent);
            running.AddOrUpdate(actorId, 0, (_, n) => n - 1);
        });
    }

    public async Task WaitForAsync(string @event, int count, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (true)
        {
            Task next;
            lock (gate)
            {
                if (events.Count(e => e == @event) >= count)
                {
                    return;
                }

                next = changed.Task;
            }

            try
            {
                await next.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for {count} x '{@event}'; events: {string.Join(", ", Events)}");
            }
        }
    }

    private sealed class Scope(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }
}

public interface ICounterActor : IActor
{
    /// <summary>Reads the counter, yields, writes counter + 1: only correct when calls take turns.</summary>
    Task<int> IncrementAsync();

    Task<int> GetCountAsync();

    /// <summary>Saves <paramref name="value"/> under <paramref name="key"/> through the SDK's StateManager.</summary>
    Task SaveAsync(string key, string value);

    Task<string> EchoAsync(string text);

    /// <summary>Holds the turn for <paramref name="milliseconds"/>.</summary>
    Task HoldAsync(int milliseconds);

    Task FailAsync(string message);

    Task StartTimerAsync(string name, int dueMilliseconds, int periodMilliseconds, string data);

    Task StopTimerAsync(string name);

    Task StartReminderAsync(string name, int dueMilliseconds, int periodMilliseconds, string data);

    /// <summary>The reminder as the SDK reads it back from the sidecar (<c>Actor.GetReminderAsync</c>), or null.</summary>
    Task<string?> DescribeReminderAsync(string name);
}

/// <summary>A counter with the SDK's state manager, timers and reminders; everything it does is recorded on the probe.</summary>
public sealed class CounterActor(ActorHost host, ActorProbe probe) : Actor(host), ICounterActor, IRemindable
{
    private int count;

    public async Task<int> IncrementAsync()
    {
        using var _ = probe.Enter(Id.GetId());
        var seen = count;
        await Task.Delay(15);
        count = seen + 1;
        return count;
    }

    public Task<int> GetCountAsync() => Task.FromResult(count);

    public Task SaveAsync(string key, string value) => StateManager.SetStateAsync(key, value);

    public Task<string> EchoAsync(string text) => Task.FromResult($"{Id.GetId()}:{text}");

    public async Task HoldAsync(int milliseconds)
    {
        using var _ = probe.Enter(Id.GetId());
        await Task.Delay(milliseconds);
    }

    public Task FailAsync(string message) => throw new InvalidOperationException(message);

    public Task StartTimerAsync(string name, int dueMilliseconds, int periodMilliseconds, string data) =>
        RegisterTimerAsync(name, nameof(OnTimerAsync), Encoding.UTF8.GetBytes(data), TimeSpan.FromMilliseconds(dueMilliseconds), TimeSpan.FromMilliseconds(periodMilliseconds));

    public Task StopTimerAsync(string name) => UnregisterTimerAsync(name);

    public Task StartReminderAsync(string name, int dueMilliseconds, int periodMilliseconds, string data) =>
        RegisterReminderAsync(
            name,
            Encoding.UTF8.GetBytes(data),
            TimeSpan.FromMilliseconds(dueMilliseconds),
            periodMilliseconds > 0 ? TimeSpan.FromMilliseconds(periodMilliseconds) : Timeout.InfiniteTimeSpan);

    public async Task<string?> DescribeReminderAsync(string name)
    {
        var reminder = await GetReminderAsync(name);
        return reminder is null ? null : $"{reminder.Name} due={reminder.DueTime} period={reminder.Period} data={Encoding.UTF8.GetString(reminder.State ?? [])}";
    }

    public Task OnTimerAsync(byte[] data)
    {
        probe.Record($"timer:{Id.GetId()}:{Encoding.UTF8.GetString(data ?? [])}");
        return Task.CompletedTask;
    }

    public Task ReceiveReminderAsync(string reminderName, byte[] state, TimeSpan dueTime, TimeSpan period)
    {
        probe.Record($"reminder:{Id.GetId()}:{reminderName}:{Encoding.UTF8.GetString(state ?? [])}");
        return Task.CompletedTask;
    }

    protected override Task OnActivateAsync()
    {
        probe.Record($"activated:{Id.GetId()}");
        return Task.CompletedTask;
    }

    protected override Task OnDeactivateAsync()
    {
        probe.Record($"deactivated:{Id.GetId()}");
        return Task.CompletedTask;
    }
}

public interface IReentrantActor : IActor
{
    /// <summary>Calls itself through an actor proxy: only completes when the sidecar lets the call re-enter.</summary>
    Task<string> CallSelfAsync(int depth);
}

public sealed class ReentrantActor(ActorHost host) : Actor(host), IReentrantActor
{
    public async Task<string> CallSelfAsync(int depth)
    {
        if (depth <= 0)
        {
            return "bottom";
        }

        var self = ProxyFactory.CreateActorProxy<IReentrantActor>(Id, nameof(ReentrantActor));
        return $"{depth}>" + await self.CallSelfAsync(depth - 1);
    }
}

/// <summary>Registers the test actors in a test app, pointed at the sidecar the app was started for.</summary>
public static class TestActorRegistration
{
    public static IServiceCollection AddTestActors(this IServiceCollection services, Action<ActorRuntimeOptions>? configure = null)
    {
        services.AddSingleton<ActorProbe>();
        services.AddActors(options =>
        {
            options.Actors.RegisterActor<CounterActor>();
            configure?.Invoke(options);
        });
        services.AddOptions<ActorRuntimeOptions>().Configure<Sidecars>((options, sidecar) =>
        {
            options.HttpEndpoint = sidecar.HttpEndpoint;
            if (sidecar.ApiToken is { } token)
            {
                options.DaprApiToken = token;
            }
        });
        return services;
    }

    public static ActorProbe Probe(this DaprTestHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return (host.App ?? throw new InvalidOperationException("no app")).Services.GetRequiredService<ActorProbe>();
    }

    /// <summary>The options the app's actor runtime uses (endpoint and token), for proxies created by the test.</summary>
    public static Dapr.Actors.Client.ActorProxyOptions ProxyOptions(this DaprTestHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return new Dapr.Actors.Client.ActorProxyOptions { HttpEndpoint = host.Sidecar.HttpEndpoint, DaprApiToken = host.ApiToken };
    }
}
