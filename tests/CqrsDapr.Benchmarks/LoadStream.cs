using System.Diagnostics;

namespace CqrsDapr.Benchmarks;

/// <summary>What a stream of the overload section sends.</summary>
internal enum Operation
{
    /// <summary>GET /api/products/{id}, no token, round robin over existing products.</summary>
    Read,

    /// <summary>POST /api/products, a new SKU each.</summary>
    Create,
}

/// <summary>
/// One open-loop stream of the overload section (<see cref="OpenLoop"/>): reads or creates at a fixed arrival rate for
/// a number of seconds. Per request it records the intended send time, when the generator actually started it (late
/// when the generator cannot keep the rate), when the answer came, the answer and, for a create, its product number
/// (the SKU, to send the same product again in the reconciliation).
/// </summary>
internal sealed class LoadStream
{
    private readonly long[] due;
    private readonly long[] sent;
    private readonly long[] done;
    private readonly long[] numbers;
    private readonly Answer[] answers;

    private LoadStream(string label, Operation operation, double rate, int count)
    {
        (Label, Operation, Rate) = (label, operation, rate);
        (due, sent, done, numbers, answers) = (new long[count], new long[count], new long[count], new long[count], new Answer[count]);
        Run = new OpenLoopRun(Task.FromResult(0L), Task.CompletedTask); // replaced as soon as the stream starts
    }

    /// <summary>The stream's row in the report ("reads 2×", "mix 4× creates").</summary>
    public string Label { get; }

    public Operation Operation { get; }

    /// <summary>The offered rate, requests per second.</summary>
    public double Rate { get; }

    public int Count => due.Length;

    /// <summary>The sending and the answers under way (see <see cref="OpenLoopRun"/>).</summary>
    public OpenLoopRun Run { get; private set; }

    /// <summary>Intended send times (Stopwatch timestamps).</summary>
    public ReadOnlySpan<long> Due => due;

    /// <summary>When the generator started each request (its intended send time or later).</summary>
    public ReadOnlySpan<long> Sent => sent;

    /// <summary>When each answer (or failure) came.</summary>
    public ReadOnlySpan<long> Done => done;

    public ReadOnlySpan<Answer> Answers => answers;

    /// <summary>Each create's product number (<see cref="GatewayClient.CreateAsync(long)"/>); 0 for reads.</summary>
    public ReadOnlySpan<long> Numbers => numbers;

    /// <summary>
    /// Starts <paramref name="rate"/> × <paramref name="seconds"/> requests; reads go round robin over
    /// <paramref name="products"/>, from <paramref name="offset"/> on.
    /// </summary>
    public static LoadStream Start(
        GatewayClient client, string label, Operation operation, double rate, double seconds, IReadOnlyList<Uri> products, int offset = 0)
    {
        if (operation == Operation.Read && products.Count == 0)
        {
            throw new ArgumentException("reads need products to read", nameof(products));
        }

        var stream = new LoadStream(label, operation, rate, Math.Max(1, (int)(rate * seconds)));
        stream.Run = OpenLoop.Start(stream.Count, rate, async (i, intended) =>
        {
            stream.due[i] = intended;
            stream.sent[i] = Stopwatch.GetTimestamp();
            Answer answer;
            if (operation == Operation.Create)
            {
                var number = stream.numbers[i] = client.NextNumber();
                answer = await client.CreateAsync(number);
            }
            else
            {
                answer = await client.ReadAsync(products[(offset + i) % products.Count]);
            }

            stream.done[i] = Stopwatch.GetTimestamp();
            stream.answers[i] = answer;
        });
        return stream;
    }
}
