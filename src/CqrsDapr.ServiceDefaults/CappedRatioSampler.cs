using System.Globalization;
using OpenTelemetry.Trace;

namespace CqrsDapr.ServiceDefaults;

/// <summary>
/// The root sampler of the production settings: a trace is sampled at a ratio (<c>OTEL_TRACES_SAMPLER_ARG</c>, as
/// <c>traceidratio</c> decides it) and at most <c>Telemetry:MaxTracesPerSecond</c> per process, whatever the load.
/// At a few requests per second it is the ratio alone; under load the cap keeps the cost of tracing (spans recorded,
/// exported, and ingested by the collector) from growing with the load it observes, as the reservoir of a
/// rate-limiting sampler does. Used under <see cref="ParentBasedSampler"/>: a request whose caller sampled it is traced
/// here too, so one trace still spans every service; the cap counts the traces that start here.
/// </summary>
public sealed class CappedRatioSampler : Sampler
{
    /// <summary>The configuration key of the cap; unset or 0: no cap (the ratio alone, from the OTel environment variables).</summary>
    public const string MaxTracesPerSecondKey = "Telemetry:MaxTracesPerSecond";

    private readonly TraceIdRatioBasedSampler ratio;
    private readonly int maxPerSecond;
    private readonly TimeProvider time;
    private readonly Lock gate = new();
    private long windowStart;
    private int sampledInWindow;

    public CappedRatioSampler(double ratio, int maxPerSecond, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ratio);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ratio, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPerSecond, 1);
        this.ratio = new TraceIdRatioBasedSampler(ratio);
        this.maxPerSecond = maxPerSecond;
        this.time = time ?? TimeProvider.System;
        windowStart = this.time.GetTimestamp();
        Description = string.Create(CultureInfo.InvariantCulture, $"CappedRatioSampler{{{ratio}, {maxPerSecond}/s}}");
    }

    /// <summary>The ratio of the production settings: <c>OTEL_TRACES_SAMPLER_ARG</c> when it is a fraction, else 1.</summary>
    public static double RatioFrom(string? samplerArgument) =>
        double.TryParse(samplerArgument, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value is >= 0 and <= 1 ? value : 1;

    public override SamplingResult ShouldSample(in SamplingParameters samplingParameters)
    {
        if (ratio.ShouldSample(samplingParameters).Decision == SamplingDecision.Drop)
        {
            return new SamplingResult(SamplingDecision.Drop);
        }

        lock (gate)
        {
            var now = time.GetTimestamp();
            if (time.GetElapsedTime(windowStart, now) >= TimeSpan.FromSeconds(1))
            {
                windowStart = now;
                sampledInWindow = 0;
            }

            if (sampledInWindow >= maxPerSecond)
            {
                return new SamplingResult(SamplingDecision.Drop);
            }

            sampledInWindow++;
        }

        return new SamplingResult(SamplingDecision.RecordAndSample);
    }
}
