using System.Globalization;
using System.Text.RegularExpressions;
using CqrsDapr.DaprEmulator.Components;

namespace CqrsDapr.DaprEmulator.Actors;

/// <summary>
/// A reminder or timer period as daprd 1.16 parses it (<c>pkg/actors/api/period.go</c> over dapr/kit
/// <c>time.ParseDuration</c>): an ISO-8601 duration (<c>P1DT2H</c>) optionally prefixed with repetitions
/// (<c>R5/PT10S</c>), or a Go duration (<c>0h0m5s0ms</c>, unlimited repetitions). <see cref="Value"/> is the text as
/// the caller sent it: daprd echoes it back unchanged in callbacks and on GET.
/// </summary>
internal readonly record struct ActorPeriod(string Value, int Years, int Months, int Days, TimeSpan Duration, int Repeats)
{
    /// <summary>No period: fires once.</summary>
    public static ActorPeriod None { get; } = new("", 0, 0, 0, TimeSpan.Zero, -1);

    /// <summary>True while another tick is due (repetitions left, -1 = unlimited, and a non-zero period).</summary>
    public bool HasRepeats => Repeats != 0 && (Years != 0 || Months != 0 || Days != 0 || Duration != TimeSpan.Zero);

    /// <summary>The tick after <paramref name="time"/>.</summary>
    /// <remarks>Go's <c>AddDate</c> normalises overflowing days (Jan 31 + 1 month = Mar 3); .NET clamps (Feb 28/29).</remarks>
    public DateTimeOffset Following(DateTimeOffset time) => time.AddYears(Years).AddMonths(Months).AddDays(Days).Add(Duration);

    /// <summary>After a tick: one repetition fewer (unlimited stays unlimited).</summary>
    public ActorPeriod Ticked() => Repeats > 0 ? this with { Repeats = Repeats - 1 } : this;

    /// <summary>daprd <c>NewReminderPeriod</c>; throws <see cref="FormatException"/> with daprd's message.</summary>
    public static ActorPeriod Parse(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return None;
        }

        ActorPeriod period;
        if (ActorSchedule.TryParseIso8601(value, out var years, out var months, out var days, out var duration, out var repeats))
        {
            period = new ActorPeriod(value, years, months, days, duration, repeats);
        }
        else if (ActorSchedule.TryParseGoDuration(value, out var goDuration))
        {
            period = new ActorPeriod(value, 0, 0, 0, goDuration, -1);
        }
        else
        {
            throw new FormatException("parse error: unsupported duration format: " + value);
        }

        return period.Repeats == 0 ? throw new FormatException("has zero repetitions") : period;
    }
}

/// <summary>When a reminder or timer fires: daprd 1.16 <c>setReminderTimes</c> (<c>pkg/actors/api/reminders.go</c>).</summary>
internal sealed partial record ActorSchedule(string DueTime, DateTimeOffset FirstTick, ActorPeriod Period, DateTimeOffset? ExpiresAt)
{
    /// <summary>
    /// <paramref name="kind"/> is "reminder" or "timer" (used in daprd's error texts). dueTime and ttl accept an
    /// ISO-8601 duration, a Go duration or an RFC 3339 time; period as <see cref="ActorPeriod.Parse"/>.
    /// </summary>
    public static ActorSchedule Create(string kind, string key, string? dueTime, string? period, string? ttl, DateTimeOffset now)
    {
        var first = now;
        if (!string.IsNullOrEmpty(dueTime))
        {
            first = Parse(dueTime, now, $"error parsing {kind} due time");
        }

        ActorPeriod parsedPeriod;
        try
        {
            parsedPeriod = ActorPeriod.Parse(period);
        }
        catch (FormatException ex)
        {
            throw new FormatException($"invalid {kind} period: {ex.Message}", ex);
        }

        DateTimeOffset? expires = null;
        if (!string.IsNullOrEmpty(ttl))
        {
            expires = Parse(ttl, first, $"error parsing {kind} TTL");
            if (now > expires || first > expires)
            {
                throw new FormatException($"{kind} {key} has already expired: dueTime: {first:O} TTL: {ttl}");
            }
        }

        return new ActorSchedule(dueTime ?? "", first, parsedPeriod, expires);
    }

    /// <summary>
    /// dapr/kit <c>ParseTime</c>: an ISO-8601 duration (repetitions are not allowed), a Go duration (both added to
    /// <paramref name="offset"/>) or an RFC 3339 time. Throws <see cref="FormatException"/> with dapr/kit's message.
    /// </summary>
    public static DateTimeOffset ParseTime(string value, DateTimeOffset offset)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (TryParseIso8601(value, out var years, out var months, out var days, out var duration, out var repeats))
        {
            return repeats != -1
                ? throw new FormatException("repetitions are not allowed")
                : offset.AddYears(years).AddMonths(months).AddDays(days).Add(duration);
        }

        if (TryParseGoDuration(value, out var goDuration))
        {
            return offset.Add(goDuration);
        }

        return Rfc3339().IsMatch(value) && DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.None, out var time)
            ? time
            : throw new FormatException("unsupported time/duration format: " + value);
    }

    /// <summary>Go <c>time.ParseDuration</c> ("1h0m5s0ms", "1.5s", "0").</summary>
    public static bool TryParseGoDuration(string value, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        // GoDuration also reads ISO-8601 through XmlConvert, which Go does not: keep that out.
        if (string.IsNullOrEmpty(value) || value.TrimStart('-', '+').StartsWith('P'))
        {
            return false;
        }

        try
        {
            duration = GoDuration.Parse(value);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>
    /// dapr/kit <c>ParseISO8601Duration</c>: <c>[Rn/]P[nY][nM][nW][nD][T[nH][nM][nS]]</c> with integer fields;
    /// <paramref name="repeats"/> is -1 without an <c>R</c> prefix.
    /// </summary>
    public static bool TryParseIso8601(string value, out int years, out int months, out int days, out TimeSpan duration, out int repeats)
    {
        years = months = days = 0;
        duration = TimeSpan.Zero;
        repeats = -1;
        if (value.Length < 2)
        {
            return false;
        }

        var i = 0;
        if (value[0] == 'R')
        {
            var slash = value.IndexOf('/', StringComparison.Ordinal);
            var end = slash < 0 ? value.Length : slash;
            if (end < 2 || !int.TryParse(value.AsSpan(1, end - 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out repeats))
            {
                return false;
            }

            i = end + 1;
            if (i >= value.Length)
            {
                return true; // "R5" or "R5/": repetitions only, as dapr/kit accepts.
            }
        }

        if (value[i] != 'P')
        {
            return false;
        }

        i++;
        var start = i;
        var inTime = false;
        for (; i < value.Length; i++)
        {
            var c = value[i];
            if (c == 'T')
            {
                if (start != i)
                {
                    return false;
                }

                inTime = true;
                start = i + 1;
                continue;
            }

            if (c is not ('Y' or 'W' or 'D' or 'H' or 'S' or 'M'))
            {
                continue;
            }

            var dateUnit = c is 'Y' or 'W' or 'D';
            var timeUnit = c is 'H' or 'S';
            if (start == i || (dateUnit && inTime) || (timeUnit && !inTime)
                || !int.TryParse(value.AsSpan(start, i - start), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
            {
                return false;
            }

            switch (c)
            {
                case 'Y': years = n; break;
                case 'W': days += n * 7; break;
                case 'D': days += n; break;
                case 'H': duration += TimeSpan.FromHours(n); break;
                case 'S': duration += TimeSpan.FromSeconds(n); break;
                case 'M' when inTime: duration += TimeSpan.FromMinutes(n); break;
                default: months = n; break;
            }

            start = i + 1;
        }

        return true;
    }

    private static DateTimeOffset Parse(string value, DateTimeOffset offset, string context)
    {
        try
        {
            return ParseTime(value, offset);
        }
        catch (FormatException ex)
        {
            throw new FormatException($"{context}: {ex.Message}", ex);
        }
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")]
    private static partial Regex Rfc3339();
}
