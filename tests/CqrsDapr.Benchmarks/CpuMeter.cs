using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace CqrsDapr.Benchmarks;

/// <summary>
/// Where the cores went during a phase: each process of the system, this benchmark, and the whole machine (from
/// /proc/stat), so a run on a shared machine shows how much CPU others took. Percentages are of one core.
/// <see cref="Measure"/> may be called several times: each sample runs from <see cref="Start"/> to that call.
/// </summary>
internal sealed class CpuMeter
{
    private readonly SystemProcesses system;
    private readonly IReadOnlyList<TimeSpan> processes;
    private readonly TimeSpan benchmark;
    private readonly (double Busy, double Total) machine;
    private readonly long started;

    private CpuMeter(SystemProcesses system)
    {
        this.system = system;
        processes = system.CpuTimes();
        benchmark = Self();
        machine = Machine();
        started = Stopwatch.GetTimestamp();
    }

    public static CpuMeter Start(SystemProcesses system) => new(system);

    /// <summary>CPU seconds used since <see cref="Start"/> by each process, the benchmark and the machine.</summary>
    public CpuSample Measure()
    {
        var wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var now = system.CpuTimes();
        var seconds = new double[now.Count];
        for (var i = 0; i < now.Count; i++)
        {
            seconds[i] = Math.Max(0, (now[i] - processes[i]).TotalSeconds); // a reaped PostgreSQL child can take its time with it
        }

        var (busy, total) = Machine();
        var machineSeconds = total > machine.Total
            ? (busy - machine.Busy) / (total - machine.Total) * Environment.ProcessorCount * wall
            : double.NaN;
        return new CpuSample(wall, system.Processes, seconds, (Self() - benchmark).TotalSeconds, machineSeconds);
    }

    private static TimeSpan Self()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }

    /// <summary>Busy and total jiffies of all cores, from the first line of /proc/stat (zeros when missing).</summary>
    private static (double Busy, double Total) Machine()
    {
        try
        {
            var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var values = fields.Skip(1).Take(8).Select(f => double.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            var total = values.Sum();
            return (total - values[3] - values[4], total); // idle, iowait
        }
        catch (IOException)
        {
            return (0, 0);
        }
    }
}

/// <summary>CPU seconds over <see cref="WallSeconds"/>: per process of the system, this benchmark, the machine (NaN when unknown).</summary>
internal sealed record CpuSample(
    double WallSeconds, IReadOnlyList<SystemProcess> Processes, IReadOnlyList<double> Seconds, double BenchmarkSeconds, double MachineSeconds)
{
    public double SystemSeconds => Seconds.Sum();

    /// <summary>The system without Aspire's own processes (dashboard, orchestrator, AppHost): what a deployment runs.</summary>
    public double SecondsWithoutAspire => Processes.Select((p, i) => p.Role.Contains("Aspire", StringComparison.Ordinal) ? 0 : Seconds[i]).Sum();

    /// <summary>What the rest of the machine took: busy − system − benchmark.</summary>
    public double OthersSeconds => double.IsNaN(MachineSeconds) ? double.NaN : Math.Max(0, MachineSeconds - SystemSeconds - BenchmarkSeconds);

    public double Percent(double seconds) => seconds / WallSeconds * 100;

    /// <summary>"cpu (% of one core): gateway 80, command-service 45, ...; benchmark 30; machine 190 of 200 (others 20)".</summary>
    public string Describe()
    {
        var text = new StringBuilder("cpu, % of one core:");
        for (var i = 0; i < Processes.Count; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $" {Processes[i].Role} {Percent(Seconds[i]):F0},");
        }

        var cores = Environment.ProcessorCount;
        text.Append(CultureInfo.InvariantCulture,
            $" benchmark {Percent(BenchmarkSeconds):F0}; machine busy {Percent(MachineSeconds):F0} of {cores * 100} (system {Percent(SystemSeconds):F0}, benchmark {Percent(BenchmarkSeconds):F0}, others {Percent(OthersSeconds):F0})");
        return text.ToString();
    }
}

/// <summary>
/// The cost model of a phase: per process, % of one core and CPU microseconds per operation (CPU seconds ÷
/// operations), the system's total, the load generator's own share and what others on the machine took.
/// </summary>
internal static class CpuTable
{
    private const int NameWidth = 46;

    /// <summary>One figure column: its title, the sample it reads and how (percent of a core, or µs per <c>Operations</c>).</summary>
    public sealed record Column(string Title, CpuSample Sample, long? Operations)
    {
        public static Column PercentOf(CpuSample sample, string title = "% core") => new(title, sample, null);

        public static Column PerOperation(string title, CpuSample sample, long operations) => new(title, sample, operations);

        public string Format(double seconds) => double.IsNaN(seconds) ? "-"
            : Operations is not { } count ? string.Create(CultureInfo.InvariantCulture, $"{Sample.Percent(seconds):F1}")
            : count > 0 ? string.Create(CultureInfo.InvariantCulture, $"{seconds * 1e6 / count:F0}")
            : "-";
    }

    /// <summary>
    /// Rows: each process of the system, most CPU first (in the first column's sample); the system's total; the
    /// benchmark; others on the machine (% only: not caused by the operations).
    /// </summary>
    public static void Print(string indent, params Column[] columns)
    {
        var widths = columns.Select(c => Math.Max(7, c.Title.Length)).ToArray();
        void Line(string name, Func<Column, string> cell)
        {
            var text = new StringBuilder(indent).Append(name.PadRight(NameWidth));
            for (var c = 0; c < columns.Length; c++)
            {
                text.Append("  ").Append(cell(columns[c]).PadLeft(widths[c]));
            }

            Console.WriteLine(text.ToString().TrimEnd());
        }

        Line("process", c => c.Title);
        var first = columns[0].Sample;
        foreach (var i in Enumerable.Range(0, first.Processes.Count).OrderByDescending(i => first.Seconds[i]))
        {
            Line(first.Processes[i].Role, c => c.Format(c.Sample.Seconds[i]));
        }

        Line("system total (all processes above)", c => c.Format(c.Sample.SystemSeconds));
        Line("benchmark (load generator, not in the total)", c => c.Format(c.Sample.BenchmarkSeconds));
        Line("others on the machine", c => c.Operations is null ? c.Format(c.Sample.OthersSeconds) : "-");
    }
}
