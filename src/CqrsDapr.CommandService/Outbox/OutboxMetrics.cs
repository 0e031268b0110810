using System.Diagnostics.Metrics;
using CqrsDapr.CommandService.Diagnostics;

namespace CqrsDapr.CommandService.Outbox;

/// <summary>
/// The relay's instruments. The backlog gauge reports the last count the relay took (it refreshes it while it works),
/// so a scrape never queries the database.
/// </summary>
internal sealed class OutboxMetrics
{
    private readonly Counter<long> published;
    private readonly Counter<long> failures;
    private readonly Histogram<double> latency;
    private long backlog;

    public OutboxMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(CommandServiceTelemetry.MeterName);
        published = meter.CreateCounter<long>("cqrsdapr.outbox.published", "{event}", "Events the relay handed to the broker.");
        failures = meter.CreateCounter<long>("cqrsdapr.outbox.publish_failures", "{event}", "Publish attempts the broker or sidecar refused.");
        latency = meter.CreateHistogram(
            "cqrsdapr.outbox.publish_latency",
            "s",
            "From the event's occurred-at (its transaction) to the broker accepting it.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300] });
        meter.CreateObservableGauge("cqrsdapr.outbox.backlog", () => Volatile.Read(ref backlog), "{event}", "Unpublished outbox rows at the relay's last count.");
    }

    public void Published(TimeSpan sinceOccurred)
    {
        published.Add(1);
        latency.Record(Math.Max(0, sinceOccurred.TotalSeconds));
    }

    public void PublishFailed() => failures.Add(1);

    public void Backlog(long count) => Volatile.Write(ref backlog, count);
}
