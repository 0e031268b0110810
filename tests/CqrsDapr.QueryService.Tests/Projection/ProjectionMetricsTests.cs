using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using CqrsDapr.QueryService.Projection;
using CqrsDapr.QueryService.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static CqrsDapr.QueryService.Tests.Infrastructure.ProductEvents;

namespace CqrsDapr.QueryService.Tests.Projection;

public sealed class ProjectionMetricsTests(QueryServiceHost host) : IClassFixture<QueryServiceHost>
{
    [Fact]
    public async Task Applied_ignored_and_dropped_events_are_counted_by_outcome_and_lag_is_recorded()
    {
        var scope = host.Services.GetRequiredService<IMeterFactory>();
        var counts = new ConcurrentDictionary<string, long>();
        var lags = new ConcurrentBag<double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == ProjectionMetrics.MeterName && instrument.Meter.Scope == scope)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                counts.AddOrUpdate($"{instrument.Name}:{tag.Value}", value, (_, total) => total + value);
            }
        });
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => lags.Add(value));
        listener.Start();
        var projection = host.Services.GetRequiredService<ProductProjection>();
        var id = Guid.NewGuid();
        var ct = TestContext.Current.CancellationToken;

        var created = Created(id) with { OccurredAt = DateTimeOffset.UtcNow.AddSeconds(-2) };

        Assert.Equal(ProjectionOutcome.Applied, await projection.ProjectAsync(created, ct));
        Assert.Equal(ProjectionOutcome.AlreadyApplied, await projection.ProjectAsync(created, ct));
        Assert.Equal(ProjectionOutcome.Dropped, await projection.ProjectAsync(Created(id) with { SchemaVersion = 4 }, ct));

        Assert.Equal(1, counts.GetValueOrDefault($"{ProjectionMetrics.EventsName}:applied"));
        Assert.Equal(1, counts.GetValueOrDefault($"{ProjectionMetrics.EventsName}:ignored"));
        Assert.Equal(1, counts.GetValueOrDefault($"{ProjectionMetrics.EventsName}:dropped"));
        var lag = Assert.Single(lags);
        Assert.InRange(lag, 2, 60); // seconds since the event occurred
    }
}
