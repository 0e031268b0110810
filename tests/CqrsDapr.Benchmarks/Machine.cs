namespace CqrsDapr.Benchmarks;

/// <summary>What the report says about the machine, from /proc ("?" where it is not Linux).</summary>
internal static class Machine
{
    public static string CpuModel() =>
        ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal)) is { } line
            ? line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim()
            : "?";

    public static string LoadAverage() => ReadLines("/proc/loadavg").FirstOrDefault() is { } line
        ? string.Join(' ', line.Split(' ').Take(3))
        : "?";

    private static IEnumerable<string> ReadLines(string path) => File.Exists(path) ? File.ReadLines(path) : [];
}
