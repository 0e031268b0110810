using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace CqrsDapr.Gateway.Tests.Infrastructure;

/// <summary>
/// The measurements of one gateway's instruments (only its own meter factory's: other tests' gateways use the same
/// meter name): counters summed per instrument and tag value, gauges read on demand.
/// </summary>
public sealed class GatewayMetrics : IDisposable
{
    private readonly MeterListener listener;
    private readonly Dictionary<(string Instrument, string? Tag), long> sums = [];
    private readonly Dictionary<(string Instrument, string? Tag), long> last = [];
    private readonly string tagName;

    public GatewayMetrics(GatewayScenario gateway, string tagName)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        this.tagName = tagName;
        var meterFactory = gateway.Services.GetRequiredService<IMeterFactory>();
        listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, meterFactory))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>(Record);
        listener.Start();
    }

    /// <summary>The sum of a counter's measurements with this tag value.</summary>
    public long Sum(string instrument, string tag)
    {
        lock (sums)
        {
            return sums.GetValueOrDefault((instrument, tag));
        }
    }

    /// <summary>A gauge's value with this tag value, observed now.</summary>
    public long Observe(string instrument, string tag)
    {
        listener.RecordObservableInstruments();
        lock (sums)
        {
            return last.TryGetValue((instrument, tag), out var value) ? value : throw new InvalidOperationException($"{instrument} reported nothing for {tag}.");
        }
    }

    public void Dispose() => listener.Dispose();

    private void Record(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        string? tag = null;
        foreach (var (name, item) in tags)
        {
            if (name == tagName)
            {
                tag = item?.ToString();
            }
        }

        lock (sums)
        {
            sums[(instrument.Name, tag)] = sums.GetValueOrDefault((instrument.Name, tag)) + value;
            last[(instrument.Name, tag)] = value;
        }
    }
}
