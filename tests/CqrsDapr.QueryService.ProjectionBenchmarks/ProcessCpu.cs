using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace CqrsDapr.QueryService.ProjectionBenchmarks;

/// <summary>
/// CPU time (user + system) of the processes taking part, read from <c>/proc</c> (Linux; zero elsewhere), so a run
/// shows which process the cores went to. PostgreSQL counts the postmaster, its live backends and reaped children.
/// </summary>
internal sealed class ProcessCpu(IReadOnlyList<(string Name, Func<TimeSpan> Read)> processes)
{
    private const double TicksPerSecond = 100; // USER_HZ: 100 on every Linux build in practice

    /// <summary>This process: the benchmark driver and the in-process query service.</summary>
    public static TimeSpan Self()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }

    /// <summary>A process's own CPU time (all threads).</summary>
    public static TimeSpan Of(int? pid) => pid is { } id && Stat(id) is { } stat ? Seconds(stat[11] + stat[12]) : TimeSpan.Zero;

    /// <summary>The PostgreSQL server listening on <paramref name="port"/>: postmaster, children, reaped children.</summary>
    public static Func<TimeSpan> Postgres(int port)
    {
        var postmaster = FindPostmaster(port);
        return () =>
        {
            if (postmaster is not { } pid || Stat(pid) is not { } own)
            {
                return TimeSpan.Zero;
            }

            var ticks = own[11] + own[12] + own[13] + own[14];
            foreach (var child in Pids())
            {
                if (Stat(child) is { } stat && stat[1] == pid)
                {
                    ticks += stat[11] + stat[12];
                }
            }

            return Seconds(ticks);
        };
    }

    public IReadOnlyList<TimeSpan> Read() => [.. processes.Select(p => p.Read())];

    /// <summary>"name 1.23 s (45%)" per process, between two readings over <paramref name="wall"/>.</summary>
    public string Describe(IReadOnlyList<TimeSpan> before, IReadOnlyList<TimeSpan> after, TimeSpan wall)
    {
        var text = new StringBuilder();
        var total = TimeSpan.Zero;
        for (var i = 0; i < processes.Count; i++)
        {
            var used = after[i] - before[i];
            total += used;
            text.Append(CultureInfo.InvariantCulture, $"{processes[i].Name} {used.TotalSeconds:F1} s ({used / wall:P0}), ");
        }

        text.Append(CultureInfo.InvariantCulture, $"total {total.TotalSeconds:F1} s = {total / wall:F2} cores of {Environment.ProcessorCount}");
        return text.ToString();
    }

    private static TimeSpan Seconds(long ticks) => TimeSpan.FromSeconds(ticks / TicksPerSecond);

    private static IEnumerable<int> Pids()
    {
        if (!Directory.Exists("/proc"))
        {
            yield break;
        }

        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                yield return pid;
            }
        }
    }

    /// <summary>The fields of <c>/proc/{pid}/stat</c> after the command name: [0] state (field 3), [1] ppid, [11] utime, [12] stime, [13] cutime, [14] cstime.</summary>
    private static long[]? Stat(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            var values = new long[15];
            for (var i = 1; i < values.Length; i++)
            {
                values[i] = long.Parse(fields[i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            }

            return values;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null; // gone, or not Linux
        }
    }

    private static int? FindPostmaster(int port)
    {
        var portArgument = port.ToString(CultureInfo.InvariantCulture);
        foreach (var pid in Pids())
        {
            try
            {
                var argv = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
                if (argv.Length > 1 && Path.GetFileName(argv[0]) == "postgres"
                    && argv.Zip(argv.Skip(1)).Any(pair => pair.First == "-p" && pair.Second == portArgument))
                {
                    return pid;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }

        return null;
    }
}
