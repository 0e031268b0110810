using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.EndToEnd.Tests.Telemetry;

/// <summary>
/// An OTLP/HTTP receiver standing in for the Aspire dashboard: the services export their spans to it
/// (<c>POST /v1/traces</c>, protobuf), and tests ask which spans a trace has. Metrics and logs are accepted and dropped.
/// </summary>
public sealed class TraceCollector : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentQueue<ReceivedSpan> spans = new();
    private readonly Signal received = new();

    private TraceCollector(WebApplication app) => this.app = app;

    /// <summary>The OTLP/HTTP base address (exporters append <c>/v1/traces</c>).</summary>
    public Uri Endpoint => new(app.Urls.Single());

    internal static async Task<TraceCollector> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var collector = new TraceCollector(app);
        app.MapPost("/v1/traces", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            foreach (var span in OtlpTraces.Read(body.ToArray()))
            {
                collector.spans.Enqueue(span);
            }

            collector.received.Raise();

            return Results.Bytes([], "application/x-protobuf"); // an empty ExportTraceServiceResponse: all accepted
        });
        app.MapPost("/v1/{signal}", () => Results.Bytes([], "application/x-protobuf"));
        await app.StartAsync();
        return collector;
    }

    /// <summary>The spans of one trace received so far.</summary>
    internal IReadOnlyList<ReceivedSpan> Trace(string traceId) =>
        spans.Where(span => span.TraceId == traceId).ToList();

    /// <summary>Waits until the trace has spans that satisfy every expectation (exporters send in batches).</summary>
    internal async Task<IReadOnlyList<ReceivedSpan>> WaitForTraceAsync(
        string traceId, IReadOnlyList<Func<ReceivedSpan, bool>> expectations, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await received.WaitUntilAsync(() => expectations.All(expected => Trace(traceId).Any(expected)), timeout, cancellationToken);
        return Trace(traceId);
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
