using System.Diagnostics.Metrics;
using CqrsDapr.CommandService.Diagnostics;

namespace CqrsDapr.CommandService.Idempotency;

/// <summary><c>cqrsdapr.idempotency.records_deleted</c>: expired records the retention sweep deleted.</summary>
internal sealed class IdempotencyMetrics
{
    public const string DeletedCounterName = "cqrsdapr.idempotency.records_deleted";

    private readonly Counter<long> deleted;

    public IdempotencyMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(CommandServiceTelemetry.MeterName);
        deleted = meter.CreateCounter<long>(DeletedCounterName, "{record}", "Expired idempotency records the retention sweep deleted.");
    }

    public void Deleted(int count) => deleted.Add(count);
}
