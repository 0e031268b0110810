using System.Diagnostics;
using System.Globalization;

namespace CqrsDapr.Benchmarks;

/// <summary>
/// What one finished <see cref="LoadStream"/> did. The window runs from the first intended send time for the stream's
/// length (rate × seconds requests ÷ rate), or until the generator started its last request if that was later.
/// Goodput counts the 2xx answers that came within the window; 2xx answers after it (a backlog draining) are in
/// <see cref="Admitted"/> only. Latencies run from each request's intended send time; <see cref="SendLag"/> is how late
/// the generator itself started the requests (it shares the cores with the system: no latency here can be below it).
/// </summary>
internal sealed record StreamFigures(
    string Label,
    Operation Operation,
    double Offered,
    int Count,
    double WindowSeconds,
    double SentPerSecond,
    int Admitted,
    double Goodput,
    int Overloaded,
    int OverloadedWithoutRetryAfter,
    int RateLimited,
    IReadOnlyDictionary<string, int> Other,
    IReadOnlyDictionary<string, int> NoAnswer,
    Latencies AdmittedLatency,
    Latencies RefusalLatency,
    IReadOnlyList<SecondFigures> FirstSeconds,
    Latencies FirstSecondsLatency,
    Latencies SendLag)
{
    /// <summary>The generator keeps the rate when it starts at least this share of the offered requests per second.</summary>
    public const double GeneratorShare = 0.95;

    /// <summary>The seconds at the start of a stream that get figures of their own (the recovery's first 5 s).</summary>
    public const int SecondsReported = 5;

    /// <summary>The generator could not start requests at the offered rate (it shares the cores with the system).</summary>
    public bool GeneratorLimited => SentPerSecond < GeneratorShare * Offered;

    /// <summary>Answered with a status other than 2xx, 503 "overloaded" and 429.</summary>
    public int OtherCount => Other.Values.Sum();

    public int NoAnswerCount => NoAnswer.Values.Sum();

    public static StreamFigures Of(LoadStream stream)
    {
        var frequency = (double)Stopwatch.Frequency;
        var count = stream.Count;
        var start = stream.Run.Sent.Result;
        var lastSent = count == 0 ? start : stream.Sent.ToArray().Max();
        var window = Math.Max(count / stream.Rate, (lastSent - start) / frequency);
        var windowEnd = start + (long)(window * frequency);
        var sentPerSecond = count / Math.Max((lastSent - start) / frequency + 1 / stream.Rate, 1e-9);

        var sendLag = new long[count];
        var admittedLatency = new long[count];
        var refusalLatency = new long[count];
        Array.Fill(admittedLatency, -1);
        Array.Fill(refusalLatency, -1);
        var (admitted, inWindow, overloaded, withoutRetryAfter, rateLimited) = (0, 0, 0, 0, 0);
        var other = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var noAnswer = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var perSecond = new (List<long> Latency, int Refused)[SecondsReported];
        for (var s = 0; s < SecondsReported; s++)
        {
            perSecond[s] = ([], 0);
        }

        for (var i = 0; i < count; i++)
        {
            var answer = stream.Answers[i];
            sendLag[i] = Math.Max(0, stream.Sent[i] - stream.Due[i]);
            var latency = stream.Done[i] - stream.Due[i];
            var second = (int)((stream.Due[i] - start) / frequency);
            var early = second is >= 0 and < SecondsReported;
            if (answer.IsAdmitted)
            {
                admitted++;
                inWindow += stream.Done[i] <= windowEnd ? 1 : 0;
                admittedLatency[i] = latency;
                if (early)
                {
                    perSecond[second].Latency.Add(latency);
                }

                continue;
            }

            if (early)
            {
                perSecond[second].Refused++;
            }

            if (answer.IsOverloaded)
            {
                overloaded++;
                withoutRetryAfter += answer.RetryAfter ? 0 : 1;
                refusalLatency[i] = latency;
            }
            else if (answer.Status == 429)
            {
                rateLimited++;
            }
            else
            {
                var counts = answer.Status == 0 ? noAnswer : other;
                counts[answer.Label] = counts.GetValueOrDefault(answer.Label) + 1;
            }
        }

        var seconds = perSecond.Select(s => new SecondFigures(s.Latency.Count, s.Refused, Latencies.Of([.. s.Latency]))).ToArray();
        return new StreamFigures(
            stream.Label,
            stream.Operation, stream.Rate, count, window, Math.Min(sentPerSecond, stream.Rate), admitted, inWindow / window, overloaded,
            withoutRetryAfter, rateLimited, other, noAnswer, Latencies.Of(admittedLatency), Latencies.Of(refusalLatency),
            seconds, Latencies.Of([.. perSecond.SelectMany(s => s.Latency)]), Latencies.Of(sendLag));
    }

    /// <summary>"502 backend-unavailable×3, timeout×2", or "" when there was none.</summary>
    public string DescribeFailures() => string.Join(", ", Other.Concat(NoAnswer).Select(f => string.Create(CultureInfo.InvariantCulture, $"{f.Key}×{f.Value:N0}")));
}

/// <summary>One second of a stream (by intended send time): its 2xx answers, the others, and the 2xx latency.</summary>
internal sealed record SecondFigures(int Admitted, int Refused, Latencies Latency);
