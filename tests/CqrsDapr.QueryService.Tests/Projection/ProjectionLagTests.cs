using CqrsDapr.QueryService.Projection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CqrsDapr.QueryService.Tests.Projection;

/// <summary>The <c>projection</c> health check's rule on a fake clock (defaults: 10 s of lag for 30 s).</summary>
public sealed class ProjectionLagTests
{
    private static readonly TimeSpan Late = TimeSpan.FromSeconds(12);
    private static readonly TimeSpan InTime = TimeSpan.FromSeconds(2);

    private readonly FakeTimeProvider clock = new(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));
    private readonly ProjectionLag lag;

    public ProjectionLagTests() => lag = new ProjectionLag(Options.Create(new ProjectionHealthOptions()), clock);

    [Fact]
    public void Idle_with_no_batch_ever_is_healthy()
    {
        clock.Advance(TimeSpan.FromHours(1));

        Assert.Equal(HealthStatus.Healthy, lag.Evaluate().Status);
    }

    [Fact]
    public void A_lag_that_stays_above_DegradedLag_is_healthy_for_DegradedLagFor_and_degraded_just_beyond()
    {
        lag.BatchApplied(Late);
        for (var i = 0; i < 3; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(10));
            lag.BatchApplied(Late); // later late batches do not restart the count
        }

        var atLimit = lag.Evaluate();
        clock.Advance(TimeSpan.FromMilliseconds(1));
        var beyond = lag.Evaluate();

        Assert.Equal(HealthStatus.Healthy, atLimit.Status);
        Assert.Equal(HealthStatus.Degraded, beyond.Status);
        Assert.Equal("Projection lag above 10 s for 30 s (last batch 12 s behind).", beyond.Description);
        Assert.Equal(12.0, beyond.Data["lastBatchLagSeconds"]);
        Assert.Equal(30.001, beyond.Data["lateForSeconds"]);
    }

    [Fact]
    public void A_spike_followed_by_a_batch_in_time_never_degrades()
    {
        lag.BatchApplied(TimeSpan.FromMinutes(5));
        clock.Advance(TimeSpan.FromSeconds(20));
        lag.BatchApplied(InTime);
        clock.Advance(TimeSpan.FromMinutes(10));

        Assert.Equal(HealthStatus.Healthy, lag.Evaluate().Status);
    }

    [Fact]
    public void A_lag_of_exactly_DegradedLag_is_in_time_and_just_above_it_is_late()
    {
        lag.BatchApplied(TimeSpan.FromSeconds(10));
        clock.Advance(TimeSpan.FromMinutes(1));
        var atThreshold = lag.Evaluate();

        lag.BatchApplied(TimeSpan.FromSeconds(10) + TimeSpan.FromMilliseconds(1));
        clock.Advance(TimeSpan.FromMinutes(1));
        var aboveThreshold = lag.Evaluate();

        Assert.Equal(HealthStatus.Healthy, atThreshold.Status);
        Assert.Equal(HealthStatus.Degraded, aboveThreshold.Status);
    }

    [Fact]
    public void One_batch_in_time_makes_a_degraded_projection_healthy_again()
    {
        lag.BatchApplied(Late);
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(HealthStatus.Degraded, lag.Evaluate().Status);

        lag.BatchApplied(InTime);

        Assert.Equal(HealthStatus.Healthy, lag.Evaluate().Status);
    }

    [Fact]
    public void Silence_after_late_batches_stays_degraded_until_a_batch_comes_in_time()
    {
        lag.BatchApplied(Late);
        clock.Advance(TimeSpan.FromHours(1));

        Assert.Equal(HealthStatus.Degraded, lag.Evaluate().Status);
    }

    [Theory]
    [InlineData("00:00:00", "00:00:30")]
    [InlineData("00:00:10", "-00:00:01")]
    public void Invalid_thresholds_are_rejected(string degradedLag, string degradedLagFor)
    {
        var result = new ProjectionHealthOptionsValidator().Validate(null, new ProjectionHealthOptions
        {
            DegradedLag = TimeSpan.Parse(degradedLag, System.Globalization.CultureInfo.InvariantCulture),
            DegradedLagFor = TimeSpan.Parse(degradedLagFor, System.Globalization.CultureInfo.InvariantCulture),
        });

        Assert.True(result.Failed);
    }
}
