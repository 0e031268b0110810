using Microsoft.Extensions.Configuration;

namespace CqrsDapr.AppHost;

/// <summary>
/// The Dapr runtime executables the AppHost runs when it uses real Dapr: the sidecar (<c>daprd</c>) and the two
/// control-plane services a self-hosted daprd needs here, <c>placement</c> (actors) and <c>scheduler</c> (actor
/// reminders, since Dapr 1.15). <see cref="Find"/> decides between them and the project's emulator.
/// </summary>
internal sealed record DaprBinaries(string Daprd, string Placement, string Scheduler)
{
    /// <summary>Setting: <c>auto</c> (default: daprd when installed), <c>daprd</c> or <c>emulator</c>.</summary>
    public const string SidecarKey = "CqrsDapr:Sidecar";

    /// <summary>Setting: the only directory to look in (instead of <c>PATH</c> and <c>~/.dapr/bin</c>).</summary>
    public const string BinDirectoryKey = "CqrsDapr:DaprBinDirectory";

    public const string InstallHint =
        "Install the Dapr runtime: `dapr init --slim` (Dapr CLI) puts daprd, placement and scheduler in ~/.dapr/bin";

    /// <summary>
    /// The binaries to run, or null for the emulator. <c>auto</c> runs daprd when <c>daprd</c> is found, and then needs
    /// placement and scheduler as well (an error names what is missing rather than silently falling back);
    /// <c>daprd</c> fails when anything is missing; <c>emulator</c> never looks.
    /// </summary>
    public static DaprBinaries? Find(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var sidecar = configuration[SidecarKey] is { Length: > 0 } setting ? setting : "auto";
        if (sidecar.Equals("emulator", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var required = sidecar.Equals("daprd", StringComparison.OrdinalIgnoreCase);
        if (!required && !sidecar.Equals("auto", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"{SidecarKey} is '{sidecar}': use auto, daprd or emulator.");
        }

        var configured = configuration[BinDirectoryKey];
        var directories = configured is { Length: > 0 } ? [configured] : SearchPath();
        var where = configured is { Length: > 0 } ? $"{configured} ({BinDirectoryKey})" : "on PATH or in ~/.dapr/bin";
        var daprd = FindIn(directories, "daprd");
        if (daprd is null && !required)
        {
            return null;
        }

        var placement = FindIn(directories, "placement");
        var scheduler = FindIn(directories, "scheduler");
        if (daprd is null || placement is null || scheduler is null)
        {
            var missing = string.Join(", ", new[] { ("daprd", daprd), ("placement", placement), ("scheduler", scheduler) }
                .Where(binary => binary.Item2 is null).Select(binary => binary.Item1));
            throw new InvalidOperationException(
                $"{SidecarKey} is '{sidecar}' but not all Dapr binaries were found {where}; missing: {missing}. " +
                $"{InstallHint} (or set {BinDirectoryKey} to where they are), or run the project's emulator: {SidecarKey}=emulator.");
        }

        return new DaprBinaries(daprd, placement, scheduler);
    }

    private static List<string> SearchPath() =>
    [
        .. (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries),
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dapr", "bin"),
    ];

    private static string? FindIn(IEnumerable<string> directories, string name) => directories
        .Select(directory => Path.Combine(directory, OperatingSystem.IsWindows() ? name + ".exe" : name))
        .FirstOrDefault(IsExecutable);

    private static bool IsExecutable(string path) =>
        File.Exists(path)
        && (OperatingSystem.IsWindows()
            || (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0);
}
