using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace CqrsDapr.Benchmarks;

/// <summary>
/// Where the cores went during a phase: each process of the system, this benchmark, and the whole machine (from
/// /proc/stat), so a run on a shared machine shows how much CPU others took. Percentages are of one core.
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

    /// <summary>"cpu (% of one core): gateway 80, command-service 45, ...; benchmark 30; machine 190 of 200 (others 20)".</summary>
    public string Describe()
    {
        var wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var now = system.CpuTimes();
        var text = new StringBuilder("cpu, % of one core:");
        var ours = 0.0;
        for (var i = 0; i < now.Count; i++)
        {
            var percent = (now[i] - processes[i]).TotalSeconds / wall * 100;
            ours += percent;
            text.Append(CultureInfo.InvariantCulture, $" {system.Processes[i].Role} {percent:F0},");
        }

        var self = (Self() - benchmark).TotalSeconds / wall * 100;
        var (busy, total) = Machine();
        var cores = Environment.ProcessorCount;
        var machinePercent = total > machine.Total ? (busy - machine.Busy) / (total - machine.Total) * 100 * cores : double.NaN;
        text.Append(CultureInfo.InvariantCulture,
            $" benchmark {self:F0}; machine busy {machinePercent:F0} of {cores * 100} (system {ours:F0}, benchmark {self:F0}, others {Math.Max(0, machinePercent - ours - self):F0})");
        return text.ToString();
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
