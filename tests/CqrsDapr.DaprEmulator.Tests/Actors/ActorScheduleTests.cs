using System.Text;
using CqrsDapr.DaprEmulator.Actors;

namespace CqrsDapr.DaprEmulator.Tests.Actors;

/// <summary>dueTime / period / ttl as daprd 1.16 reads them (dapr/kit time), without a sidecar.</summary>
public sealed class ActorScheduleTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 31, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("0h0m5s0ms", 5_000)]
    [InlineData("1h0m0s0ms", 3_600_000)]
    [InlineData("250ms", 250)]
    [InlineData("1.5s", 1_500)]
    [InlineData("PT10S", 10_000)]
    [InlineData("PT1H30M", 5_400_000)]
    [InlineData("P1D", 86_400_000)]
    [InlineData("P1W", 604_800_000)]
    public void Due_times_in_go_and_iso_8601_form_count_from_now(string dueTime, long milliseconds)
    {
        var schedule = ActorSchedule.Create("reminder", "T||1||r", dueTime, null, null, Now);

        Assert.Equal(Now.AddMilliseconds(milliseconds), schedule.FirstTick);
        Assert.Equal(dueTime, schedule.DueTime);
    }

    [Fact]
    public void A_due_time_in_rfc_3339_form_is_that_moment()
    {
        var schedule = ActorSchedule.Create("timer", "T||1||t", "2026-02-01T08:30:00Z", null, null, Now);

        Assert.Equal(new DateTimeOffset(2026, 2, 1, 8, 30, 0, TimeSpan.Zero), schedule.FirstTick);
    }

    [Theory]
    [InlineData("R3/PT2S", 3, 2_000)]
    [InlineData("PT2S", -1, 2_000)]
    [InlineData("0h0m2s0ms", -1, 2_000)]
    public void Periods_carry_their_repetitions_unlimited_without_an_r_prefix(string text, int repeats, long milliseconds)
    {
        var period = ActorPeriod.Parse(text);

        Assert.Equal(repeats, period.Repeats);
        Assert.Equal(Now.AddMilliseconds(milliseconds), period.Following(Now));
        Assert.Equal(text, period.Value);
        Assert.True(period.HasRepeats);
    }

    [Fact]
    public void A_period_with_repetitions_runs_out_after_that_many_ticks()
    {
        var period = ActorPeriod.Parse("R2/PT1S");

        var afterOne = period.Ticked();
        var afterTwo = afterOne.Ticked();

        Assert.True(afterOne.HasRepeats);
        Assert.False(afterTwo.HasRepeats);
        Assert.False(ActorPeriod.None.HasRepeats);
    }

    [Fact]
    public void Month_periods_step_by_calendar_months()
    {
        Assert.Equal(new DateTimeOffset(2026, 3, 15, 0, 0, 0, TimeSpan.Zero), ActorPeriod.Parse("P2M").Following(new DateTimeOffset(2026, 1, 15, 0, 0, 0, TimeSpan.Zero)));
    }

    [Theory]
    [InlineData(null, "P0.5D", "invalid timer period: parse error: unsupported duration format: P0.5D")]
    [InlineData(null, "R0/PT1S", "invalid timer period: has zero repetitions")]
    [InlineData(null, "every second", "invalid timer period: parse error: unsupported duration format: every second")]
    [InlineData("R2/PT1S", null, "error parsing timer due time: repetitions are not allowed")]
    [InlineData("tomorrow", null, "error parsing timer due time: unsupported time/duration format: tomorrow")]
    public void Unreadable_schedules_fail_with_daprds_messages(string? dueTime, string? period, string message)
    {
        var error = Assert.Throws<FormatException>(() => ActorSchedule.Create("timer", "T||1||t", dueTime, period, null, Now));

        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void A_ttl_counts_from_the_first_tick_and_must_not_have_passed()
    {
        var schedule = ActorSchedule.Create("reminder", "T||1||r", "10s", "1s", "PT1M", Now);
        var expired = Assert.Throws<FormatException>(() => ActorSchedule.Create("reminder", "T||1||r", "10s", "1s", "2026-01-31T11:00:00Z", Now));

        Assert.Equal(Now.AddSeconds(70), schedule.ExpiresAt);
        Assert.StartsWith("reminder T||1||r has already expired", expired.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_stored_reminder_json_follows_daprds_field_names_and_time_format()
    {
        var reminder = new StoredReminder(
            "Order", "o-1", "ship", "\"aGk=\"", "0h0m5s0ms", ActorPeriod.Parse("R2/PT1S"), new DateTimeOffset(2026, 1, 31, 12, 0, 5, 250, TimeSpan.Zero), null);
        using var stream = new MemoryStream();
        using (var json = new System.Text.Json.Utf8JsonWriter(stream))
        {
            ActorReminderStorage.Write(json, reminder);
        }

        Assert.Equal(
            """{"registeredTime":"2026-01-31T12:00:05.25Z","period":"R2/PT1S","data":"aGk=","actorID":"o-1","actorType":"Order","name":"ship","dueTime":"0h0m5s0ms"}""",
            Encoding.UTF8.GetString(stream.ToArray()));
    }
}
