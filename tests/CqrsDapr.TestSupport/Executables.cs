using System.Diagnostics;

namespace CqrsDapr.TestSupport;

internal static class Executables
{
    /// <summary>A start info with each argument passed verbatim (no shell, no quoting).</summary>
    internal static ProcessStartInfo Command(string fileName, params IEnumerable<string> arguments)
    {
        var startInfo = new ProcessStartInfo(fileName) { WorkingDirectory = Path.GetTempPath() };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        return startInfo;
    }

    /// <summary>The full path of <paramref name="name"/> in a PATH directory, or null.</summary>
    internal static string? FindOnPath(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (IsExecutableFile(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    internal static bool IsExecutableFile(string path)
    {
        if (!File.Exists(path))
        {
            return false;
        }

        return OperatingSystem.IsWindows()
            || (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
    }
}
