using System.Globalization;

namespace CqrsDapr.AppHost;

/// <summary>
/// DCP's own processes, found from a resource's process on Linux (<c>/proc</c>): the resource's parent is
/// <c>dcp run-controllers</c>, which starts and watches every resource and runs the endpoint proxies, and its parent
/// is <c>dcp start-apiserver</c>, the API the AppHost talks to. Either one gone means no process of the system is left
/// running and nothing reports it: the AppHost's view of the resources stops changing, as if all were well.
/// </summary>
internal static class OrchestratorProcesses
{
    private const string DcpName = "dcp";

    /// <summary>DCP's processes above <paramref name="resourcePid"/> (nearest first); empty when there are none (or not on Linux).</summary>
    public static IReadOnlyList<ProcessIdentity> Above(int resourcePid)
    {
        var found = new List<ProcessIdentity>();
        if (!OperatingSystem.IsLinux())
        {
            return found;
        }

        var pid = resourcePid;
        while (ProcessStat.Read(pid) is { } stat && stat.ParentPid > 1 && ProcessStat.Read(stat.ParentPid) is { } parent && Name(stat.ParentPid) == DcpName)
        {
            found.Add(new ProcessIdentity(stat.ParentPid, parent.StartTime, CommandLine(stat.ParentPid)));
            pid = stat.ParentPid;
        }

        return found;
    }

    /// <summary>Whether the process still runs: same process id and start time, not a zombie.</summary>
    public static bool IsRunning(ProcessIdentity process) =>
        ProcessStat.Read(process.Pid) is { } stat && stat.StartTime == process.StartTime && !stat.IsZombie;

    /// <summary>The parent's process id, or null when <paramref name="pid"/> is gone.</summary>
    internal static int? ParentOf(int pid) => ProcessStat.Read(pid)?.ParentPid;

    private static string? Name(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/comm").TrimEnd('\n');
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string CommandLine(int pid)
    {
        try
        {
            var arguments = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
            return string.Join(' ', arguments.Take(2).Select(Path.GetFileName));
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            return DcpName;
        }
    }
}

/// <summary>A process, told apart from a later one with the same id by its start time; <see cref="Command"/> is for messages.</summary>
internal sealed record ProcessIdentity(int Pid, ulong StartTime, string Command);
