using System.Diagnostics.Metrics;
using CqrsDapr.CommandService.Outbox;
using CqrsDapr.CommandService.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace CqrsDapr.CommandService.Tests.Outbox;

public sealed class OutboxMetricsTests(WriteDatabaseServer server)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_relay_reports_its_backlog_publishes_failures_and_latency()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        await OutboxRows.CommitAsync(connectionString, 5);
        var broker = new RecordingPublisher { Refusing = true };
        await using var services = RelayHost.Compose(connectionString, broker);

        // Only this relay's instruments: other tests' relays use the same meter name from their own factories.
        var meterFactory = services.GetRequiredService<IMeterFactory>();
        var measurements = new Dictionary<string, List<double>>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, meterFactory))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        void Record(Instrument instrument, double value)
        {
            lock (measurements)
            {
                (measurements.TryGetValue(instrument.Name, out var values) ? values : measurements[instrument.Name] = []).Add(value);
            }
        }

        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => Record(instrument, value));
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => Record(instrument, value));
        listener.Start();

        var relay = services.GetRequiredService<OutboxRelay>();
        await relay.StartAsync(TestContext.Current.CancellationToken);
        await broker.WaitUntilAsync(p => p.Failures >= 2, Patience, "the relay retried after a failure");
        listener.RecordObservableInstruments(); // the first failed batch refreshed the backlog before backing off
        broker.Refusing = false;
        await broker.WaitForPublishedAsync(5, Patience);
        await relay.StopAsync(CancellationToken.None);

        Assert.Equal(5, measurements["cqrsdapr.outbox.backlog"][0]);
        Assert.Equal(5, measurements["cqrsdapr.outbox.published"].Sum());
        Assert.Equal(broker.Failures, measurements["cqrsdapr.outbox.publish_failures"].Sum());
        Assert.Equal(5, measurements["cqrsdapr.outbox.publish_latency"].Count);
        Assert.All(measurements["cqrsdapr.outbox.publish_latency"], seconds => Assert.InRange(seconds, 0, 60));
    }
}
