using System.Diagnostics;
using System.Net;
using System.Text.Json;
using CqrsDapr.TestSupport;
using Dapr.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.DaprEmulator.Benchmarks;

/// <summary>The event every scenario publishes: run id, sequence number, and the publisher's clock.</summary>
internal sealed record BenchEvent(int Run, int Seq, long SentTicks);

/// <summary>
/// A subscriber app as a service would write it (Dapr.AspNetCore, <c>UseCloudEvents</c>, <c>WithTopic</c>), in this
/// process so publisher and receiver share one clock. Records the publish-to-delivery latency of each event.
/// </summary>
internal sealed class Receiver
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    public const string Topic = "bench";

    private readonly Lock gate = new();
    private int run;
    private double[] latencies = [];
    private bool[] seen = [];
    private int delivered;
    private int duplicates;
    private int batches;
    private int largestBatch;
    private TaskCompletionSource done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Duplicates => duplicates;

    /// <summary>Bulk deliveries received since <see cref="Begin"/>, and their largest entry count.</summary>
    public (int Batches, int Largest) BatchStats
    {
        get
        {
            lock (gate)
            {
                return (batches, largestBatch);
            }
        }
    }

    public int Delivered => Volatile.Read(ref delivered);

    /// <summary>Starts a run expecting <paramref name="count"/> events; returns its id.</summary>
    public int Begin(int count)
    {
        lock (gate)
        {
            run++;
            latencies = new double[count];
            seen = new bool[count];
            delivered = 0;
            duplicates = 0;
            batches = 0;
            largestBatch = 0;
            done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return run;
        }
    }

    public async Task<double[]> WaitAsync(TimeSpan timeout)
    {
        try
        {
            await done.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            Console.WriteLine($"  ! only {Delivered} of {latencies.Length} events delivered within {timeout.TotalSeconds:0} s");
        }

        lock (gate)
        {
            return latencies.Where((_, i) => seen[i]).ToArray();
        }
    }

    /// <summary>
    /// Starts the app; with <paramref name="bulk"/> the endpoint is a bulk subscription declared as Dapr.AspNetCore does
    /// on a minimal API (<c>WithBulkSubscribe</c>), answering SUCCESS for every entry with the SDK's response type.
    /// </summary>
    public async Task<WebApplication> StartAsync(int port, Sidecar sidecar, BulkSubscribeTopicOptions? bulk = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        builder.Services.AddDaprClient(c => c.UseGrpcEndpoint(sidecar.GrpcEndpoint).UseHttpEndpoint(sidecar.HttpEndpoint));
        var app = builder.Build();
        app.UseCloudEvents();
        if (bulk is null)
        {
            app.MapPost("/events", (BenchEvent e) =>
            {
                Record(e);
                return Results.Ok();
            }).WithTopic("pubsub", Topic);
        }
        else
        {
            bulk.TopicName = Topic;
            app.MapPost("/events", (BulkSubscribeMessage<JsonElement> message) =>
            {
                var statuses = new List<BulkSubscribeAppResponseEntry>(message.Entries.Count);
                foreach (var entry in message.Entries)
                {
                    Record(entry.Event.GetProperty("data").Deserialize<BenchEvent>(Web)!);
                    statuses.Add(new BulkSubscribeAppResponseEntry(entry.EntryId, BulkSubscribeAppResponseStatus.SUCCESS));
                }

                RecordBatch(message.Entries.Count);
                return Results.Ok(new BulkSubscribeAppResponse(statuses));
            }).WithTopic("pubsub", Topic).WithBulkSubscribe(bulk);
        }
        app.MapSubscribeHandler();
        await app.StartAsync();
        return app;
    }

    private void RecordBatch(int size)
    {
        lock (gate)
        {
            batches++;
            largestBatch = Math.Max(largestBatch, size);
        }
    }

    private void Record(BenchEvent e)
    {
        var now = Stopwatch.GetTimestamp();
        lock (gate)
        {
            if (e.Run != run || e.Seq >= seen.Length)
            {
                return;
            }

            if (seen[e.Seq])
            {
                duplicates++;
                return;
            }

            seen[e.Seq] = true;
            latencies[e.Seq] = Stopwatch.GetElapsedTime(e.SentTicks, now).TotalMilliseconds;
            if (++delivered == seen.Length)
            {
                done.TrySetResult();
            }
        }
    }
}
