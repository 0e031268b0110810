using System.Collections.Concurrent;
using System.Globalization;

namespace CqrsDapr.Benchmarks;

/// <summary>
/// The overload section's end check, through the public API only. Every create answered 2xx is read back with its
/// consistency token (200 expected). A refused create cannot be looked up by id (the service chooses the id and a
/// refusal names none) and no query filters by SKU, so it is checked by sending the same product again: its SKU is
/// unique to the run, so 409 duplicate-sku means the refused create had been made after all (a mismatch), 2xx that it
/// had not (the check itself then creates it). That is a write per check, so an evenly spread sample of at most
/// <see cref="SampleLimit"/> of each kind is sent again: the creates refused "overloaded" (a mismatch if created),
/// and, for information only, the others that did not get 2xx (another status, or no answer at all: these may or may
/// not have been made).
/// </summary>
internal static class Reconciliation
{
    public const int SampleLimit = 2000;
    private const int Workers = 16;
    private const int Attempts = 20;

    public static async Task<ReconciliationResult> RunAsync(GatewayClient client, IEnumerable<LoadStream> streams)
    {
        var admitted = new List<(string Id, string Token)>();
        var overloaded = new List<long>();
        var others = new List<long>();
        foreach (var stream in streams.Where(s => s.Operation == Operation.Create))
        {
            for (var i = 0; i < stream.Count; i++)
            {
                var answer = stream.Answers[i];
                if (answer.IsAdmitted && answer.Id is { } id && answer.Token is { } token)
                {
                    admitted.Add((id, token));
                }
                else if (!answer.IsAdmitted)
                {
                    (answer.IsOverloaded ? overloaded : others).Add(stream.Numbers[i]);
                }
            }
        }

        var unreadable = new ConcurrentDictionary<int, int>();
        await Parallel.ForEachAsync(admitted, new ParallelOptions { MaxDegreeOfParallelism = Workers }, async (write, _) =>
        {
            var status = await client.WaitVisibleAsync(write.Id, write.Token, TimeSpan.FromSeconds(30));
            if (status != 200)
            {
                unreadable.AddOrUpdate(status, 1, (_, n) => n + 1);
            }
        });

        return new ReconciliationResult(
            admitted.Count,
            new SortedDictionary<int, int>(unreadable),
            await SendAgainAsync(client, overloaded),
            await SendAgainAsync(client, others));
    }

    /// <summary>Sends a sample of the refused products again: how many had been created, had not, or stayed unknown.</summary>
    private static async Task<ResentSample> SendAgainAsync(GatewayClient client, List<long> numbers)
    {
        var step = Math.Max(1, (int)Math.Ceiling(numbers.Count / (double)SampleLimit));
        var sample = numbers.Where((_, i) => i % step == 0).ToArray();
        var (created, notCreated) = (0, 0);
        var unknown = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        await Parallel.ForEachAsync(sample, new ParallelOptions { MaxDegreeOfParallelism = Workers }, async (number, cancellation) =>
        {
            Answer answer = default;
            for (var attempt = 0; attempt < Attempts; attempt++)
            {
                answer = await client.CreateAsync(number);
                if (!answer.IsOverloaded && answer.Status is not (429 or 0 or 502 or 503 or 504))
                {
                    break;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellation); // refused again, or the backend away: a moment, then again
            }

            if (answer.IsAdmitted)
            {
                Interlocked.Increment(ref notCreated);
            }
            else if (answer is { Status: 409, Code: "duplicate-sku" })
            {
                Interlocked.Increment(ref created);
            }
            else
            {
                unknown.AddOrUpdate(answer.Label, 1, (_, n) => n + 1);
            }
        });
        return new ResentSample(numbers.Count, sample.Length, created, notCreated, new SortedDictionary<string, int>(unknown, StringComparer.Ordinal));
    }
}

/// <summary>The reconciliation's counts: 2xx creates and those not readable (by status), and the two re-sent samples.</summary>
internal sealed record ReconciliationResult(int Admitted, IReadOnlyDictionary<int, int> Unreadable, ResentSample Overloaded, ResentSample Others)
{
    /// <summary>Every 2xx create readable, no create refused "overloaded" found created, every check answered.</summary>
    public bool Clean => Unreadable.Count == 0 && Overloaded.Created == 0 && Overloaded.Unknown.Count == 0;

    public int UnreadableCount => Unreadable.Values.Sum();

    public void Print(string indent)
    {
        var unreadable = string.Join(", ", Unreadable.Select(u => string.Create(CultureInfo.InvariantCulture, $"{(u.Key == 0 ? "no answer" : u.Key)}×{u.Value:N0}")));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{indent}creates answered 2xx: {Admitted:N0}, read back with their tokens: {Admitted - UnreadableCount:N0} answered 200{(Unreadable.Count == 0 ? "" : $", NOT readable: {unreadable}")}"));
        Console.WriteLine($"{indent}creates refused \"overloaded\" (must not have been created): {Overloaded.Describe()}{(Overloaded.Created > 0 ? "  MISMATCH" : "")}");
        Console.WriteLine($"{indent}creates with another status or no answer (may or may not have been created; for information): {Others.Describe()}");
    }
}

/// <summary>Of <see cref="Total"/> refused creates, <see cref="Checked"/> sent again: found created, not created, or no clear answer.</summary>
internal sealed record ResentSample(int Total, int Checked, int Created, int NotCreated, IReadOnlyDictionary<string, int> Unknown)
{
    public string Describe()
    {
        if (Total == 0)
        {
            return "none";
        }

        var unknown = string.Join(", ", Unknown.Select(u => string.Create(CultureInfo.InvariantCulture, $"{u.Key}×{u.Value:N0}")));
        return string.Create(CultureInfo.InvariantCulture,
            $"{Total:N0}, {(Checked == Total ? "all" : $"{Checked:N0} (evenly spread)")} sent again: {Created:N0} had been created (409 duplicate-sku), {NotCreated:N0} had not (2xx now){(Unknown.Count == 0 ? "" : $", no clear answer: {unknown}")}");
    }
}
