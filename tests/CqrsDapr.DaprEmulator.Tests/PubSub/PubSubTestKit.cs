using System.Collections.Concurrent;
using System.Text.Json;
using CqrsDapr.DaprEmulator.Tests.Infrastructure;
using StackExchange.Redis;

namespace CqrsDapr.DaprEmulator.Tests.PubSub;

/// <summary>An order as the test apps publish and receive it.</summary>
public sealed record Order(string Id, int Quantity);

/// <summary>Shared helpers of the pub/sub conformance tests: unique names, direct Redis inspection, envelope parsing.</summary>
internal static class PubSubTestKit
{
    private static readonly ConcurrentDictionary<string, Lazy<ConnectionMultiplexer>> Connections = new(StringComparer.Ordinal);

    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    /// <summary>Redis is shared by the whole assembly: every test gets its own stream names.</summary>
    public static string UniqueTopic(string name) => $"{name}-{Guid.NewGuid():N}"[..(name.Length + 13)];

    public static IDatabase Redis(Backends backends)
    {
        ArgumentNullException.ThrowIfNull(backends);
        return Redis(backends.Redis.ConnectionString);
    }

    public static IDatabase Redis(string connectionString) =>
        Connections.GetOrAdd(connectionString, cs => new Lazy<ConnectionMultiplexer>(() => ConnectionMultiplexer.Connect(cs + ",abortConnect=false"))).Value.GetDatabase();

    /// <summary>Entries delivered to a consumer of <paramref name="group"/> and not acknowledged yet.</summary>
    public static async Task<long> PendingAsync(IDatabase redis, string topic, string group)
    {
        ArgumentNullException.ThrowIfNull(redis);
        var info = await redis.StreamPendingAsync(topic, group);
        return info.PendingMessageCount;
    }

    /// <summary>Waits (polling Redis, which cannot notify) until every delivered entry of the group is acknowledged.</summary>
    public static Task WaitUntilAcknowledgedAsync(IDatabase redis, string topic, string group, long delivered) =>
        Eventually.Until(
            async () => (await PendingAsync(redis, topic, group), await GroupEntriesReadAsync(redis, topic, group)),
            s => s.Item1 == 0 && s.Item2 >= delivered,
            Patience,
            $"{delivered} entr(ies) of {topic} read and acknowledged by group {group}");

    public static JsonElement Json(ReceivedRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var document = JsonDocument.Parse(request.Body);
        return document.RootElement.Clone();
    }

    public static string Text(JsonElement envelope, string property) =>
        envelope.GetProperty(property).GetString() ?? throw new InvalidOperationException($"{property} is null");

    private static async Task<long> GroupEntriesReadAsync(IDatabase redis, string topic, string group)
    {
        // XINFO GROUPS reports entries-read (Redis 7+): how many entries the group has been handed.
        var groups = await redis.StreamGroupInfoAsync(topic);
        var info = groups.Single(g => g.Name == group);
        return info.EntriesRead ?? 0;
    }
}

/// <summary>What an app handler received, awaitable without polling (the raw request log fills before handlers run).</summary>
public sealed class Handled<T>
{
    private readonly Lock gate = new();
    private readonly List<T> items = [];
    private TaskCompletionSource changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Add(T item)
    {
        TaskCompletionSource wake;
        lock (gate)
        {
            items.Add(item);
            wake = changed;
            changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        wake.TrySetResult();
    }

    public IReadOnlyList<T> Snapshot()
    {
        lock (gate)
        {
            return [.. items];
        }
    }

    public async Task<IReadOnlyList<T>> WaitForAsync(int count, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (true)
        {
            Task next;
            lock (gate)
            {
                if (items.Count >= count)
                {
                    return [.. items];
                }

                next = changed.Task;
            }

            try
            {
                await next.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for {count} handled item(s); got {Snapshot().Count}");
            }
        }
    }
}
