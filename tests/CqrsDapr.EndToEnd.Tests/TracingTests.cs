using System.Diagnostics;
using System.Net;
using CqrsDapr.EndToEnd.Tests.Telemetry;

namespace CqrsDapr.EndToEnd.Tests;

/// <summary>
/// One trace follows a write across the system: the client's trace context enters at the gateway, and the command
/// service, the outbox relay's publish and the projection in the query service all add spans to that same trace,
/// each exported over OTLP.
/// </summary>
[Collection(WholeSystem.Name)]
public sealed class TracingTests(SystemFixture system)
{
    [Fact]
    public async Task A_write_is_one_trace_from_the_gateway_through_the_command_service_and_the_broker_to_the_projection()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        var traceParent = $"00-{traceId}-{ActivitySpanId.CreateRandom().ToHexString()}-01";

        var sku = $"TRACE-{Guid.NewGuid():N}"[..20];
        using var created = await system.Gateway.SendAsync(HttpMethod.Post, "/api/products",
            $$"""{"sku":"{{sku}}","name":"Traced lamp","category":"tracing","price":{"amount":5,"currency":"EUR"},"stock":1}""",
            headers: new Dictionary<string, string> { ["traceparent"] = traceParent }, cancellationToken: cancellationToken);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        Func<ReceivedSpan, bool>[] expected =
        [
            span => span.Service == "gateway" && span.Kind == ReceivedSpan.Server,
            span => span.Service == "command-service" && span.Kind == ReceivedSpan.Server && span.Name.StartsWith("POST /api/products", StringComparison.Ordinal),
            span => span.Service == "command-service" && span.Kind == ReceivedSpan.Producer && span.Name == "publish products",
            span => span.Service == "query-service" && span.Kind == ReceivedSpan.Consumer && span.Name == "process products",
        ];
        var trace = await system.Traces.WaitForTraceAsync(traceId, expected, TimeSpan.FromSeconds(30), cancellationToken);

        var missing = expected.Select((e, i) => (e, i)).Where(x => !trace.Any(x.e)).Select(x => x.i).ToList();
        Assert.True(missing.Count == 0,
            $"Trace {traceId} lacks expectations {string.Join(", ", missing)}; it has:\n{string.Join("\n", trace)}");
        Assert.All(trace.Where(span => span.ParentSpanId.Length > 0 && span.ParentSpanId != traceParent[36..52]),
            span => Assert.Contains(trace, parent => parent.SpanId == span.ParentSpanId));
        var publish = trace.Single(span => span.Kind == ReceivedSpan.Producer);
        Assert.Equal(publish.SpanId, trace.Single(span => span.Kind == ReceivedSpan.Consumer).ParentSpanId); // through the broker
    }
}
