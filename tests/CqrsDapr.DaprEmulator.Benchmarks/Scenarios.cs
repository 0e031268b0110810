using System.Diagnostics;
using System.Text;
using Dapr.Client;
using Npgsql;

namespace CqrsDapr.DaprEmulator.Benchmarks;

internal sealed record FixedRateResult(double[] Latencies, double[] PublishLatencies);

internal sealed record ThroughputResult(int Count, double PublishSeconds, double DeliverySeconds, int Delivered, int Duplicates, double[] Latencies);

internal static class PubSubScenarios
{
    /// <summary>Publishes at a fixed arrival rate (open loop) so latency is measured without self-inflicted queueing.</summary>
    public static async Task<FixedRateResult> FixedRateAsync(DaprClient client, Receiver receiver, int rate, int count)
    {
        var run = receiver.Begin(count);
        var publishLatencies = new double[count];
        var interval = Stopwatch.Frequency / (double)rate;
        var start = Stopwatch.GetTimestamp();
        var pending = new List<Task>(count);
        for (var i = 0; i < count; i++)
        {
            // Sleep, never spin: a spinning publisher takes one of this machine's two cores from the sidecar. Linux
            // timers wake ~1 ms late at worst; latency is measured from the actual send, so the jitter costs nothing.
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), start + (long)(i * interval));
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            var seq = i;
            pending.Add(PublishOneAsync(client, run, seq, publishLatencies));
        }

        await Task.WhenAll(pending);
        var latencies = await receiver.WaitAsync(TimeSpan.FromSeconds(60));
        return new FixedRateResult(latencies, publishLatencies);
    }

    /// <summary>
    /// Closed loop with one event in flight: publish, wait for its delivery, repeat. The path's own cost, without the
    /// thread wake-ups an idle system pays between the open-loop run's spaced events.
    /// </summary>
    public static async Task<double[]> OneAtATimeAsync(DaprClient client, Receiver receiver, int count)
    {
        var latencies = new List<double>(count);
        for (var i = 0; i < count; i++)
        {
            var run = receiver.Begin(1);
            await client.PublishEventAsync("pubsub", Receiver.Topic, new BenchEvent(run, 0, Stopwatch.GetTimestamp()));
            latencies.AddRange(await receiver.WaitAsync(TimeSpan.FromSeconds(10)));
        }

        return [.. latencies];
    }

    /// <summary>The floor: the XADD the sidecar issues, sent straight to Redis with StackExchange.Redis, back to back.</summary>
    public static async Task<double[]> RawXaddAsync(string redisHost, int count)
    {
        await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redisHost);
        var database = redis.GetDatabase();
        var payload = new string('x', 300);
        var samples = new double[count];
        for (var i = -200; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await database.StreamAddAsync("bench-raw", "data", payload);
            if (i >= 0)
            {
                samples[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        }

        return samples;
    }

    private static async Task PublishOneAsync(DaprClient client, int run, int seq, double[] publishLatencies)
    {
        var sent = Stopwatch.GetTimestamp();
        await client.PublishEventAsync("pubsub", Receiver.Topic, new BenchEvent(run, seq, sent));
        publishLatencies[seq] = Stopwatch.GetElapsedTime(sent).TotalMilliseconds;
    }

    /// <summary>Closed loop: <paramref name="inFlight"/> publishers, each sending batches back to back.</summary>
    public static async Task<ThroughputResult> SaturateAsync(DaprClient client, Receiver receiver, int count, int inFlight, int batch)
    {
        var run = receiver.Begin(count);
        var next = -1;
        var start = Stopwatch.GetTimestamp();
        var workers = Enumerable.Range(0, inFlight).Select(async _ =>
        {
            while (true)
            {
                var first = Interlocked.Add(ref next, batch) - batch + 1;
                if (first >= count)
                {
                    return;
                }

                var last = Math.Min(count, first + batch);
                if (batch == 1)
                {
                    await client.PublishEventAsync("pubsub", Receiver.Topic, new BenchEvent(run, first, Stopwatch.GetTimestamp()));
                }
                else
                {
                    var now = Stopwatch.GetTimestamp();
                    var events = Enumerable.Range(first, last - first).Select(seq => new BenchEvent(run, seq, now)).ToList();
                    var response = await client.BulkPublishEventAsync("pubsub", Receiver.Topic, events);
                    if (response.FailedEntries.Count > 0)
                    {
                        throw new InvalidOperationException($"{response.FailedEntries.Count} bulk entries failed: {response.FailedEntries[0].ErrorMessage}");
                    }
                }
            }
        }).ToList();
        await Task.WhenAll(workers);
        var published = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var latencies = await receiver.WaitAsync(TimeSpan.FromSeconds(120));
        var delivered = Stopwatch.GetElapsedTime(start).TotalSeconds;
        return new ThroughputResult(count, published, delivered, receiver.Delivered, receiver.Duplicates, latencies);
    }
}

internal static class StateScenarios
{
    private static readonly Dictionary<string, string> JsonMetadata = new() { ["contentType"] = "application/json" };

    public static async Task<double[]> SaveAsync(DaprClient client, string store, int count)
    {
        var samples = new double[count];
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await client.SaveStateAsync(store, "item-" + (i % 100), new { id = i, name = "desk lamp", price = 3990 }, metadata: JsonMetadata);
            samples[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }

        return samples;
    }

    public static async Task<double[]> GetAsync(DaprClient client, string store, int count)
    {
        await client.SaveStateAsync(store, "hot", new { id = 1, name = "desk lamp", price = 3990 }, metadata: JsonMetadata);
        for (var i = 0; i < 200; i++)
        {
            await client.GetStateAsync<Dictionary<string, object>>(store, "hot");
        }

        var samples = new double[count];
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await client.GetStateAsync<Dictionary<string, object>>(store, "hot");
            samples[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }

        return samples;
    }

    /// <summary>Gets spaced at a fixed rate, one at a time: what a call costs when the processes are idle between calls.</summary>
    public static async Task<double[]> GetSpacedAsync(DaprClient client, string store, int rate, int count)
    {
        var samples = new double[count];
        var interval = TimeSpan.FromSeconds(1.0 / rate);
        for (var i = 0; i < count; i++)
        {
            await Task.Delay(interval);
            var started = Stopwatch.GetTimestamp();
            await client.GetStateAsync<Dictionary<string, object>>(store, "hot");
            samples[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }

        return samples;
    }

    public static async Task<double[]> GetHttpAsync(string endpoint, string store, int count)
    {
        using var http = new HttpClient { BaseAddress = new Uri(endpoint) };
        var uri = new Uri($"/v1.0/state/{store}/hot", UriKind.Relative);
        for (var i = 0; i < 200; i++)
        {
            using var _ = await http.GetAsync(uri);
        }

        var samples = new double[count];
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            using var response = await http.GetAsync(uri);
            await response.Content.ReadAsByteArrayAsync();
            samples[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }

        return samples;
    }

    /// <summary>The floor: the same point read straight from PostgreSQL, without any sidecar.</summary>
    public static async Task<double[]> RawPostgresGetAsync(string connectionString, int count)
    {
        await using var source = NpgsqlDataSource.Create(connectionString + ";Max Auto Prepare=10");
        var samples = new double[count];
        for (var i = -200; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await using var command = source.CreateCommand("SELECT value, xmin::text FROM state WHERE key = $1");
            command.Parameters.Add(new NpgsqlParameter { Value = "bench||hot" });
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            _ = reader.GetString(0);
            if (i >= 0)
            {
                samples[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        }

        return samples;
    }
}

internal static class Report
{
    public static string Percentiles(IReadOnlyCollection<double> samples)
    {
        if (samples.Count == 0)
        {
            return "no samples";
        }

        var sorted = samples.Order().ToArray();
        double P(double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"p50 {P(0.50):F3}  p95 {P(0.95):F3}  p99 {P(0.99):F3}  max {sorted[^1]:F3}  (n={sorted.Length})");
    }

    public static void Line(string name, string value) => Console.WriteLine($"{name,-66} {value}");

    public static void Throughput(string name, ThroughputResult r)
    {
        Line(name, string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{r.Delivered / r.DeliverySeconds:F0} ev/s delivered ({r.Delivered}/{r.Count} in {r.DeliverySeconds:F2} s; published at {r.Count / r.PublishSeconds:F0} ev/s; duplicates {r.Duplicates})"));
        Line("  latency under saturation (ms)", Percentiles(r.Latencies));
    }

    public static string PeakMemory(int pid)
    {
        var status = File.ReadAllLines($"/proc/{pid}/status");
        var hwm = status.FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal)) ?? "VmHWM: ?";
        return hwm["VmHWM:".Length..].Trim();
    }
}

/// <summary>Component YAML for the benchmark's sidecars, in a throwaway folder.</summary>
internal sealed class ResourceFolder : IDisposable
{
    public ResourceFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "cqrsdapr-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public ResourceFolder Add(string name, string type, params (string Key, string Value)[] metadata)
    {
        var yaml = new StringBuilder($"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: {type}\n  version: v1\n  metadata:\n");
        foreach (var (key, value) in metadata)
        {
            yaml.Append($"  - name: {key}\n    value: \"{value}\"\n");
        }

        if (metadata.Length == 0)
        {
            yaml.Replace("  metadata:\n", "  metadata: []\n");
        }

        File.WriteAllText(System.IO.Path.Combine(Path, name + ".yaml"), yaml.ToString());
        return this;
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
