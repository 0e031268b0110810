using System.Diagnostics;
using System.Globalization;

namespace CqrsDapr.AppHost;

/// <summary>Finds the PostgreSQL and Redis server binaries and runs set-up commands as the PostgreSQL user.</summary>
internal static class ServerBinaries
{
    public const string InstallHint = "apt-get install -y --no-upgrade postgresql redis-server";

    /// <summary>The PostgreSQL service account: the servers run as it when the AppHost runs as root.</summary>
    public const string PostgresUser = "postgres";

    /// <summary>Where Debian's PostgreSQL packages put each version's server binaries (<c>{version}/bin</c>).</summary>
    public const string DebianPostgresRoot = "/usr/lib/postgresql";

    /// <summary>PostgreSQL refuses to run as root: then its commands run through <c>runuser -u postgres</c>.</summary>
    public static bool IsRoot { get; } = Environment.UserName == "root";

    /// <summary>The newest <c>/usr/lib/postgresql/*/bin</c> (Debian layout), or the folder of <c>postgres</c> on PATH.</summary>
    public static string PostgresBinDirectory() =>
        FindPostgresBinDirectory(SearchPath, DebianPostgresRoot) ?? throw new InvalidOperationException(
            "PostgreSQL server binaries (postgres, initdb) were not found in /usr/lib/postgresql/*/bin or on PATH. " +
            $"Install them: {InstallHint}");

    /// <summary>
    /// The newest <c><paramref name="debianRoot"/>/*/bin</c> with <c>postgres</c> and <c>initdb</c>, else the folder of
    /// <c>postgres</c> on <paramref name="path"/> when <c>initdb</c> is beside it; null when there is none.
    /// </summary>
    public static string? FindPostgresBinDirectory(string path, string debianRoot)
    {
        static bool HasServer(string directory) =>
            File.Exists(Path.Combine(directory, "postgres")) && File.Exists(Path.Combine(directory, "initdb"));

        var candidates = Directory.Exists(debianRoot)
            ? Directory.EnumerateDirectories(debianRoot)
                .OrderByDescending(version => int.TryParse(Path.GetFileName(version), CultureInfo.InvariantCulture, out var v) ? v : -1)
                .Select(version => Path.Combine(version, "bin"))
            : [];
        return candidates.Append(FindOnPath("postgres", path) is { } onPath ? Path.GetDirectoryName(onPath)! : "")
            .FirstOrDefault(directory => directory.Length > 0 && HasServer(directory));
    }

    public static string RedisServer() => FindOnPath("redis-server") ?? throw new InvalidOperationException(
        $"redis-server was not found on PATH. Install it: {InstallHint}");

    /// <summary>The command line that runs <paramref name="executable"/> as the PostgreSQL user (as is, unless root).</summary>
    public static (string Command, string[] Prefix) AsPostgresUser(string executable) =>
        IsRoot ? ("runuser", ["-u", PostgresUser, "--", executable]) : (executable, []);

    /// <summary>Runs a set-up command as the PostgreSQL user; throws with its output when it fails.</summary>
    public static async Task RunAsPostgresUserAsync(
        string executable, IEnumerable<string> arguments, string? standardInput, CancellationToken cancellationToken)
    {
        var (command, prefix) = AsPostgresUser(executable);
        var startInfo = new ProcessStartInfo(command)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var argument in prefix.Concat(arguments))
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo)!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.StandardInput.WriteAsync(standardInput);
        process.StandardInput.Close();
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{Path.GetFileName(executable)} failed with exit code {process.ExitCode}: {await errors}{await output}");
        }
    }

    public static async Task ChownToPostgresUserAsync(string directory, CancellationToken cancellationToken)
    {
        if (!IsRoot)
        {
            return;
        }

        using var process = Process.Start(new ProcessStartInfo("chown", ["-R", $"{PostgresUser}:{PostgresUser}", directory]))!;
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"chown of {directory} to {PostgresUser} failed with exit code {process.ExitCode}.");
        }
    }

    /// <summary>The process's PATH.</summary>
    public static string SearchPath => Environment.GetEnvironmentVariable("PATH") ?? "";

    /// <summary>The first <paramref name="name"/> in a folder of <paramref name="path"/> (the process's PATH by default), or null.</summary>
    public static string? FindOnPath(string name, string? path = null) =>
        (path ?? SearchPath)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);
}
