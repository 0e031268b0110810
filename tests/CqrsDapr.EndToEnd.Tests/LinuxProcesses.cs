using System.Globalization;

namespace CqrsDapr.EndToEnd.Tests;

/// <summary>What <c>/proc</c> tells about processes of this machine (Linux): command lines, parents, limits, listening ports.</summary>
internal static class LinuxProcesses
{
    /// <summary>Every running process's id.</summary>
    public static IEnumerable<int> All() =>
        Directory.EnumerateDirectories("/proc").Select(Path.GetFileName)
            .Select(name => int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0)
            .Where(pid => pid > 0);

    /// <summary>The command line's arguments, the program first; empty when the process is gone.</summary>
    public static IReadOnlyList<string> CommandLine(int pid) =>
        Read($"/proc/{pid}/cmdline")?.Split('\0', StringSplitOptions.RemoveEmptyEntries) ?? [];

    /// <summary>The parent's process id; null when the process is gone.</summary>
    public static int? Parent(int pid) =>
        Read($"/proc/{pid}/stat") is { } stat
            ? int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture)
            : null;

    /// <summary>The processes whose parent is <paramref name="pid"/>.</summary>
    public static IReadOnlyList<int> Children(int pid) => [.. All().Where(child => Parent(child) == pid)];

    /// <summary>Soft and hard limit of open files, from <c>/proc/{pid}/limits</c>.</summary>
    public static (ulong Soft, ulong Hard) OpenFilesLimit(int pid)
    {
        var line = (Read($"/proc/{pid}/limits") ?? throw new InvalidOperationException($"process {pid} is gone"))
            .Split('\n').Single(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var values = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return (ulong.Parse(values[0], CultureInfo.InvariantCulture), ulong.Parse(values[1], CultureInfo.InvariantCulture));
    }

    /// <summary>The TCP ports the process listens on (IPv4 and IPv6).</summary>
    public static IReadOnlySet<int> ListeningPorts(int pid)
    {
        var sockets = new HashSet<string>(StringComparer.Ordinal);
        foreach (var fd in Directory.EnumerateFiles($"/proc/{pid}/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith("socket:[", StringComparison.Ordinal))
                {
                    sockets.Add(target["socket:[".Length..^1]);
                }
            }
            catch (IOException)
            {
                // closed meanwhile
            }
        }

        var ports = new HashSet<int>();
        foreach (var table in (string[])["/proc/net/tcp", "/proc/net/tcp6"])
        {
            foreach (var fields in (Read(table) ?? "").Split('\n').Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(f => f.Length > 9))
            {
                // local address (hex ip:port), state 0A = LISTEN, inode
                if (fields[3] == "0A" && sockets.Contains(fields[9]))
                {
                    ports.Add(int.Parse(fields[1][(fields[1].LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                }
            }
        }

        return ports;
    }

    private static string? Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
