using System.Diagnostics;
using CqrsDapr.ServiceDefaults;
using Microsoft.Extensions.Time.Testing;
using OpenTelemetry.Trace;

namespace CqrsDapr.ServiceDefaults.Tests;

/// <summary>The production root sampler: the ratio decides, and no more than the cap start in any one second.</summary>
public sealed class CappedRatioSamplerTests
{
    [Fact]
    public void Every_trace_the_ratio_keeps_is_sampled_until_the_cap_and_the_next_second_starts_afresh()
    {
        var clock = new FakeTimeProvider();
        var sampler = new CappedRatioSampler(ratio: 1, maxPerSecond: 3, clock);

        Assert.Equal(3, Sampled(sampler, 10));
        clock.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Equal(0, Sampled(sampler, 10));
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(3, Sampled(sampler, 10));
    }

    [Fact]
    public void Below_the_cap_the_ratio_alone_decides()
    {
        var sampler = new CappedRatioSampler(ratio: 0.1, maxPerSecond: 1_000_000, new FakeTimeProvider());

        Assert.InRange(Sampled(sampler, 10_000), 800, 1_200); // 10 % of random trace ids
        Assert.Equal(0, Sampled(new CappedRatioSampler(ratio: 0, maxPerSecond: 100, new FakeTimeProvider()), 1_000));
    }

    [Fact]
    public void Under_parent_based_sampling_a_request_its_caller_sampled_is_sampled_whatever_the_cap()
    {
        var clock = new FakeTimeProvider();
        var sampler = new ParentBasedSampler(new CappedRatioSampler(ratio: 1, maxPerSecond: 1, clock));
        Assert.Equal(1, Sampled(sampler, 5)); // roots: the cap

        var sampledParent = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, isRemote: true);
        var decision = sampler.ShouldSample(new SamplingParameters(sampledParent, sampledParent.TraceId, "child", ActivityKind.Server));

        Assert.Equal(SamplingDecision.RecordAndSample, decision.Decision);
    }

    [Theory]
    [InlineData("0.1", 0.1)]
    [InlineData("1", 1.0)]
    [InlineData(null, 1.0)]
    [InlineData("lots", 1.0)]
    [InlineData("2", 1.0)]
    public void The_ratio_is_the_samplers_argument_when_it_is_a_fraction_and_every_trace_otherwise(string? argument, double expected)
    {
        Assert.Equal(expected, CappedRatioSampler.RatioFrom(argument));
    }

    private static int Sampled(Sampler sampler, int roots) => Enumerable.Range(0, roots).Count(_ =>
        sampler.ShouldSample(new SamplingParameters(default, ActivityTraceId.CreateRandom(), "root", ActivityKind.Server)).Decision
            == SamplingDecision.RecordAndSample);
}
