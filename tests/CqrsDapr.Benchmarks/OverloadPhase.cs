using System.Globalization;

namespace CqrsDapr.Benchmarks;

/// <summary>
/// One phase of the overload section: its streams start together; over their sending window the phase measures CPU
/// per process (<see cref="CpuMeter"/>), peak descriptors and sockets (<see cref="FdSampler"/>), and which processes
/// of the system exited or appeared (snapshots before and after). The answers may still be coming when the sending
/// ends: <see cref="SentAsync"/> and <see cref="AnsweredAsync"/> are separate so the next phase can begin at once.
/// </summary>
internal sealed class OverloadPhase
{
    private readonly CpuMeter cpu;
    private readonly FdSampler fds;
    private readonly Func<SystemProcesses> find;

    private OverloadPhase(string name, double multiple, SystemProcesses before, Func<SystemProcesses> find, IReadOnlyList<LoadStream> streams)
    {
        (Name, Multiple, Before, this.find, Streams) = (name, multiple, before, find, streams);
        cpu = CpuMeter.Start(before);
        fds = FdSampler.Start(before);
        After = before;
        Cpu = cpu.Measure();
        Fds = [];
        Changes = ProcessChanges.Between(before, before);
    }

    public string Name { get; }

    /// <summary>The multiple of capacity offered (the same for every stream of the phase).</summary>
    public double Multiple { get; }

    public SystemProcesses Before { get; }

    public IReadOnlyList<LoadStream> Streams { get; }

    /// <summary>The system's processes when the sending ended (after <see cref="SentAsync"/>).</summary>
    public SystemProcesses After { get; private set; }

    public CpuSample Cpu { get; private set; }

    public IReadOnlyList<FdPeak> Fds { get; private set; }

    public ProcessChanges Changes { get; private set; }

    /// <summary>Per stream, in order (after <see cref="AnsweredAsync"/>).</summary>
    public IReadOnlyList<StreamFigures> Figures { get; private set; } = [];

    /// <summary>
    /// Starts the phase: <paramref name="rates"/> gives each stream's operation and rate. <paramref name="find"/>
    /// finds the system's processes again (the snapshot after the phase).
    /// </summary>
    public static OverloadPhase Start(
        string name, double multiple, double seconds, GatewayClient client, IReadOnlyList<Uri> products, SystemProcesses before,
        Func<SystemProcesses> find, params (Operation Operation, double Rate, string Label)[] rates)
    {
        var streams = new List<LoadStream>(rates.Length);
        var phase = new OverloadPhase(name, multiple, before, find, streams);
        streams.AddRange(rates.Select((r, i) => LoadStream.Start(client, r.Label, r.Operation, r.Rate, seconds, products, offset: i * 7919)));
        return phase;
    }

    /// <summary>Waits until every stream has started its last request, then takes the phase's measurements.</summary>
    public async Task SentAsync()
    {
        await Task.WhenAll(Streams.Select(s => s.Run.Sent));
        Cpu = cpu.Measure();
        Fds = fds.Stop();
        After = find();
        Changes = ProcessChanges.Between(Before, After);
    }

    /// <summary>Waits for every answer, then computes the figures.</summary>
    public async Task AnsweredAsync()
    {
        await Task.WhenAll(Streams.Select(s => s.Run.Answered));
        Figures = [.. Streams.Select(StreamFigures.Of)];
    }

    /// <summary>The column titles of <see cref="Print"/>'s rows.</summary>
    public static string Header(string indent) => string.Create(CultureInfo.InvariantCulture,
        $"{indent}{"phase",-30} {"offered/s",9} {"sent/s",8} {"requests",9} {"2xx",8} {"goodput/s",9} {"overloaded",10} {"429",6} {"other",6} {"no answer",9} {"2xx p50",8} {"2xx p99",8} {"refusal p99",11} {"send lag p99",12}");

    /// <summary>One row per stream (latencies in ms), then what the phase did to the machine and the processes.</summary>
    public void Print(string indent, bool costTable = false)
    {
        foreach (var f in Figures)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{indent}{f.Label,-30} {f.Offered,9:N0} {f.SentPerSecond,8:N0} {f.Count,9:N0} {f.Admitted,8:N0} {f.Goodput,9:N0} {f.Overloaded,10:N0} {f.RateLimited,6:N0} {f.OtherCount,6:N0} {f.NoAnswerCount,9:N0} {Ms(f.AdmittedLatency.Count, f.AdmittedLatency.P50),8} {Ms(f.AdmittedLatency.Count, f.AdmittedLatency.P99),8} {Ms(f.RefusalLatency.Count, f.RefusalLatency.P99),11} {Ms(f.SendLag.Count, f.SendLag.P99),12}"));
        }

        var details = $"{indent}   ";
        foreach (var f in Figures)
        {
            var what = f.Label;
            if (f.GeneratorLimited)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{details}{what}: offered {f.Offered:N0}/s, sent {f.SentPerSecond:N0}/s: the generator's limit (the system did not get the offered load)"));
            }

            if (f.OtherCount + f.NoAnswerCount > 0)
            {
                Console.WriteLine($"{details}{what}, other statuses and no answer: {f.DescribeFailures()}");
            }

            if (f.OverloadedWithoutRetryAfter > 0)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{details}{what}: {f.OverloadedWithoutRetryAfter:N0} of {f.Overloaded:N0} \"overloaded\" refusals without Retry-After"));
            }
        }

        Console.WriteLine($"{details}{Cpu.Describe()}");
        if (costTable)
        {
            var requests = Figures.Sum(f => f.Count);
            var admitted = Figures.Sum(f => f.Admitted);
            CpuTable.Print(details, CpuTable.Column.PercentOf(Cpu), CpuTable.Column.PerOperation("µs/request", Cpu, requests), CpuTable.Column.PerOperation("µs/2xx", Cpu, admitted));
        }

        Console.WriteLine($"{details}peak open fds/sockets: {FdSampler.Describe(Fds)}");
        Console.WriteLine($"{details}processes: {Changes.Describe()}");
    }

    private static string Ms(int count, double ms) => count == 0 ? "-" : ms.ToString("F1", CultureInfo.InvariantCulture);
}
