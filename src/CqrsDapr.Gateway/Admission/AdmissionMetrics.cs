using System.Diagnostics.Metrics;

namespace CqrsDapr.Gateway.Admission;

/// <summary>
/// The admission's instruments on the gateway's meter, each tagged with <c>side</c> (reads, writes):
/// <c>cqrsdapr.gateway.admission.admitted</c> and <c>.refused</c> (counters), <c>.in_flight</c> and <c>.queued</c>
/// (gauges read from the limiters when scraped).
/// </summary>
internal sealed class AdmissionMetrics
{
    public const string MeterName = "CqrsDapr.Gateway";
    public const string AdmittedName = "cqrsdapr.gateway.admission.admitted";
    public const string RefusedName = "cqrsdapr.gateway.admission.refused";
    public const string InFlightName = "cqrsdapr.gateway.admission.in_flight";
    public const string QueuedName = "cqrsdapr.gateway.admission.queued";
    public const string SideTag = "side";

    private readonly Counter<long> admitted;
    private readonly Counter<long> refused;

    public AdmissionMetrics(IMeterFactory meterFactory, AdmissionGates gates)
    {
        var meter = meterFactory.Create(MeterName);
        admitted = meter.CreateCounter<long>(AdmittedName, "{request}", "Requests admitted to a backend side (at once or after waiting in its queue).");
        refused = meter.CreateCounter<long>(RefusedName, "{request}", "Requests refused 503 overloaded: the side's concurrency limit and queue were full.");
        meter.CreateObservableGauge(
            InFlightName, () => gates.All.Select(gate => Measure(gate.InFlight, gate.Side)), "{request}", "Requests admitted to a side and not yet finished.");
        meter.CreateObservableGauge(
            QueuedName, () => gates.All.Select(gate => Measure(gate.Queued, gate.Side)), "{request}", "Requests waiting for a place on a side.");
    }

    public void Admitted(AdmissionSide side) => admitted.Add(1, Tag(side));

    public void Refused(AdmissionSide side) => refused.Add(1, Tag(side));

    private static Measurement<long> Measure(long value, AdmissionSide side) => new(value, Tag(side));

    private static KeyValuePair<string, object?> Tag(AdmissionSide side) => new(SideTag, side.Name());
}
