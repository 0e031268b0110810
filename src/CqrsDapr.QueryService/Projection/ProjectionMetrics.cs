using System.Diagnostics.Metrics;

namespace CqrsDapr.QueryService.Projection;

/// <summary>
/// Meter <c>CqrsDapr.QueryService</c>: <c>cqrsdapr.projection.events</c> (events handled, tagged <c>outcome</c> =
/// applied | ignored | dropped), <c>cqrsdapr.projection.lag</c> (seconds from the event's <c>occurredAt</c> to its
/// view being saved) and <c>cqrsdapr.projection.dead_letters</c> (dead letters stored).
/// </summary>
internal sealed class ProjectionMetrics
{
    public const string MeterName = "CqrsDapr.QueryService";
    public const string EventsName = "cqrsdapr.projection.events";
    public const string LagName = "cqrsdapr.projection.lag";
    public const string DeadLettersName = "cqrsdapr.projection.dead_letters";

    private readonly Counter<long> events;
    private readonly Histogram<double> lag;
    private readonly Counter<long> deadLetters;

    public ProjectionMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        events = meter.CreateCounter<long>(EventsName, unit: "{event}", description: "Events handled by the projection, by outcome.");
        lag = meter.CreateHistogram<double>(LagName, unit: "s", description: "Time from an event occurring to its view being saved.");
        deadLetters = meter.CreateCounter<long>(DeadLettersName, unit: "{event}", description: "Dead-lettered events stored.");
    }

    public void Applied(TimeSpan sinceOccurred)
    {
        events.Add(1, new KeyValuePair<string, object?>("outcome", "applied"));
        lag.Record(Math.Max(0, sinceOccurred.TotalSeconds));
    }

    public void Ignored() => events.Add(1, new KeyValuePair<string, object?>("outcome", "ignored"));

    public void Dropped() => events.Add(1, new KeyValuePair<string, object?>("outcome", "dropped"));

    public void DeadLetterStored() => deadLetters.Add(1);
}
