using System.Globalization;
using System.Text;

namespace CqrsDapr.Benchmarks;

/// <summary>
/// Peak open file descriptors and sockets of each process of the system, and of the benchmark itself, over a phase:
/// /proc/&lt;pid&gt;/fd is read every 250 ms on a thread of its own; each entry is an open descriptor, one linking to
/// "socket:[inode]" a socket. A PostgreSQL server counts with its children (each backend holds its client's socket).
/// A process that is gone counts nothing from then on (the phase's process check reports it).
/// </summary>
internal sealed class FdSampler
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);
    private readonly IReadOnlyList<SystemProcess> processes;
    private readonly (int Fds, int Sockets)[] peaks;
    private readonly object gate = new(); // Monitor.Wait/Pulse: the stop wakes the sampler at once
    private readonly Thread thread;
    private readonly int self = Environment.ProcessId;
    private bool stopping;

    private FdSampler(SystemProcesses system)
    {
        processes = system.Processes;
        peaks = new (int, int)[processes.Count + 1]; // the last one is the benchmark's
        thread = new Thread(Run) { IsBackground = true, Name = "fd sampler" };
    }

    public static FdSampler Start(SystemProcesses system)
    {
        var sampler = new FdSampler(system);
        sampler.thread.Start();
        return sampler;
    }

    /// <summary>Stops sampling (after one last sample): the peaks, per process and for the benchmark as its last row.</summary>
    public IReadOnlyList<FdPeak> Stop()
    {
        lock (gate)
        {
            stopping = true;
            Monitor.PulseAll(gate);
        }

        thread.Join();
        return [
            .. processes.Select((p, i) => new FdPeak(p.Role, p.Pid, peaks[i].Fds, peaks[i].Sockets)),
            new FdPeak("benchmark", self, peaks[^1].Fds, peaks[^1].Sockets),
        ];
    }

    /// <summary>"gateway 1,203/1,150, command-service 95/40, ..." (fds/sockets), most descriptors first.</summary>
    public static string Describe(IReadOnlyList<FdPeak> peaks)
    {
        var text = new StringBuilder();
        foreach (var peak in peaks.OrderByDescending(p => p.Fds))
        {
            text.Append(text.Length == 0 ? "" : ", ").Append(CultureInfo.InvariantCulture, $"{peak.Role} {peak.Fds:N0}/{peak.Sockets:N0}");
        }

        return text.ToString();
    }

    /// <summary>Open descriptors and, of those, sockets of a process; zeros when it is gone or unreadable.</summary>
    public static (int Fds, int Sockets) Count(int pid)
    {
        var (fds, sockets) = (0, 0);
        try
        {
            foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
            {
                fds++;
                try
                {
                    if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith("socket:", StringComparison.Ordinal))
                    {
                        sockets++;
                    }
                }
                catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
                {
                    // closed between the listing and the read
                }
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // gone, or not ours to read
        }

        return (fds, sockets);
    }

    private void Run()
    {
        while (true)
        {
            Sample();
            lock (gate)
            {
                if (!stopping)
                {
                    Monitor.Wait(gate, Interval);
                }

                if (stopping)
                {
                    break;
                }
            }
        }

        Sample();
    }

    private void Sample()
    {
        var children = processes.Any(p => p.Role.StartsWith("postgres", StringComparison.Ordinal)) ? SystemProcesses.Children() : null;
        for (var i = 0; i <= processes.Count; i++)
        {
            var pid = i < processes.Count ? processes[i].Pid : self;
            var (fds, sockets) = Count(pid);
            if (children is not null && i < processes.Count && processes[i].Role.StartsWith("postgres", StringComparison.Ordinal))
            {
                foreach (var child in children[pid])
                {
                    var (childFds, childSockets) = Count(child);
                    (fds, sockets) = (fds + childFds, sockets + childSockets);
                }
            }

            peaks[i] = (Math.Max(peaks[i].Fds, fds), Math.Max(peaks[i].Sockets, sockets));
        }
    }
}

/// <summary>The most open descriptors, and sockets among them, one process had at once during a phase.</summary>
internal sealed record FdPeak(string Role, int Pid, int Fds, int Sockets);
