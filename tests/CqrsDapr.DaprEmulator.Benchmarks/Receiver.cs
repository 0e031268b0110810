using System.Diagnostics;
using System.Net;
using System.Text.Json;
using CqrsDapr.TestSupport;
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
    public const string Topic = "bench";

    private readonly Lock gate = new();
    private int run;
    private double[] latencies = [];
    private bool[] seen = [];
    private int delivered;
    private int duplicates;
    private TaskCompletionSource done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Duplicates => duplicates;

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

    public async Task<WebApplication> StartAsync(int port, Sidecar sidecar)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        builder.Services.AddDaprClient(c => c.UseGrpcEndpoint(sidecar.GrpcEndpoint).UseHttpEndpoint(sidecar.HttpEndpoint));
        var app = builder.Build();
        app.UseCloudEvents();
        app.MapPost("/events", (BenchEvent e) =>
        {
            Record(e);
            return Results.Ok();
        }).WithTopic("pubsub", Topic);
        app.MapSubscribeHandler();
        await app.StartAsync();
        return app;
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
