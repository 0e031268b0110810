using System.Globalization;

namespace CqrsDapr.Benchmarks;

/// <summary>One process of the system under test, named by its role (command-service, sidecar query-service, ...).</summary>
internal sealed record SystemProcess(int Pid, string Role, bool IsService);

/// <summary>
/// The processes of the system under test, read from <c>/proc</c> (Linux only; elsewhere none are found). Several
/// systems may run on one machine, so processes are never picked by name alone: the root is the process listening
/// on the gateway's port, or its nearest ancestor that is an orchestrator (Aspire's <c>dcp</c>, which listens itself
/// when it proxies the endpoint; the Dapr CLI's <c>dapr run -f</c>), or the process given with <c>--root-pid</c>, or
/// the <c>dcp</c> an AppHost started (<c>--apphost-pid</c>: dcp runs detached, so it is no descendant of the AppHost);
/// the system is the root's descendants, recognised by their command lines, and, under Aspire, the dcp API server
/// above the orchestrator and the AppHost it watches (they work for the running system too).
/// </summary>
internal sealed class SystemProcesses
{
    private const double TicksPerSecond = 100; // USER_HZ: 100 on every Linux build in practice
    private const string AppHostRole = "AppHost (Aspire resource service)";

    private SystemProcesses(IReadOnlyList<SystemProcess> processes, string rule, IReadOnlyList<string>? unnamed = null)
    {
        Processes = processes;
        Rule = rule;
        Unnamed = unnamed ?? [];
    }

    public IReadOnlyList<SystemProcess> Processes { get; }

    /// <summary>How the processes were found, for the report.</summary>
    public string Rule { get; }

    /// <summary>
    /// The root's other descendants, not measured (launchers such as <c>dotnet run</c> and <c>runuser</c>, dcp's
    /// process monitors), as "program first-argument"; PostgreSQL's children are left out (counted with their server).
    /// </summary>
    public IReadOnlyList<string> Unnamed { get; }

    /// <summary>daprd, emulator, both or none: what the sidecar processes are.</summary>
    public string SidecarKind
    {
        get
        {
            var daprd = Processes.Any(p => p.Role.EndsWith("(daprd)", StringComparison.Ordinal));
            var emulator = Processes.Any(p => p.Role.EndsWith("(emulator)", StringComparison.Ordinal));
            return (daprd, emulator) switch
            {
                (true, true) => "daprd and emulator",
                (true, false) => "daprd",
                (false, true) => "emulator (CqrsDapr.DaprEmulator)",
                _ => "not found",
            };
        }
    }

    /// <summary>Processes this benchmark started itself (the hop floor's chain), described by <paramref name="rule"/>.</summary>
    public static SystemProcesses Of(IReadOnlyList<SystemProcess> processes, string rule) => new(processes, rule);

    public static SystemProcesses Find(Uri gateway, int? rootPid, int? appHostPid)
    {
        if (!Directory.Exists("/proc/self"))
        {
            return new([], "no /proc: processes not measured");
        }

        var parents = ParentsOfAll();
        string rule;
        int root;
        if (rootPid is { } given)
        {
            (root, rule) = (given, $"descendants of --root-pid {given}");
        }
        else if (appHostPid is { } appHost)
        {
            // The AppHost starts dcp detached (its parent becomes init), told to watch the AppHost: --monitor <pid>.
            root = parents.Keys.FirstOrDefault(pid => CommandLine(pid) is var argv
                && argv.Length > 1 && Path.GetFileName(argv[0]) == "dcp" && argv[1] == "start-apiserver"
                && Array.IndexOf(argv, "--monitor") is var at and >= 0 && at + 1 < argv.Length && argv[at + 1] == appHost.ToString(CultureInfo.InvariantCulture));
            if (root == 0)
            {
                return new([], $"no dcp process watches AppHost pid {appHost}: processes not measured");
            }

            rule = $"descendants of the dcp that AppHost pid {appHost} started (pid {root})";
        }
        else if (ListenerOf(gateway.Port) is { } listener)
        {
            var orchestrator = SelfAndAncestors(listener, parents).FirstOrDefault(IsOrchestrator);
            var proxied = orchestrator == listener ? " (a proxy in front of the gateway: every request crosses it)" : "";
            (root, rule) = orchestrator != 0
                ? (orchestrator, $"port {gateway.Port} is {Describe(listener)} (pid {listener}){proxied}; system = descendants of {Describe(orchestrator)} (pid {orchestrator})")
                : (listener, $"port {gateway.Port} is {Describe(listener)} (pid {listener}), no orchestrator above it: only its descendants (use --root-pid)");
        }
        else
        {
            return new([], $"no local process listens on port {gateway.Port}: processes not measured (use --root-pid)");
        }

        var found = new List<SystemProcess>();
        var unnamed = new List<(int Pid, string Text)>();
        foreach (var pid in DescendantsOf(root, parents).Concat(AspireAbove(root, parents)).Distinct())
        {
            if (RoleOf(pid) is { } role)
            {
                found.Add(new SystemProcess(pid, role.Name, role.IsService));
            }
            else
            {
                unnamed.Add((pid, Describe(pid)));
            }
        }

        var postgres = found.Where(p => p.Role.StartsWith("postgres", StringComparison.Ordinal)).Select(p => p.Pid).ToHashSet();
        return new(
            [.. found.OrderBy(p => p.Role, StringComparer.Ordinal)],
            rule,
            [.. unnamed.Where(u => !postgres.Contains(parents.GetValueOrDefault(u.Pid))).Select(u => u.Text).Order(StringComparer.Ordinal)]);
    }

    /// <summary>Peak and current resident memory in KiB, from /proc/pid/status; for PostgreSQL, see <see cref="PostgresChildren"/>.</summary>
    public static (long PeakKb, long CurrentKb) Memory(int pid)
    {
        var status = Status(pid);
        return (Field(status, "VmHWM:"), Field(status, "VmRSS:"));
    }

    /// <summary>A PostgreSQL server's children (backends, background workers): how many, and their private memory (RssAnon) summed.</summary>
    public static (int Count, long PrivateKb) PostgresChildren(int postmaster)
    {
        var (count, kb) = (0, 0L);
        foreach (var pid in Pids())
        {
            var status = Status(pid);
            if (Field(status, "PPid:") == postmaster)
            {
                count++;
                kb += Field(status, "RssAnon:");
            }
        }

        return (count, kb);
    }

    /// <summary>Every process's children, by parent pid (a PostgreSQL server's backends and workers, for instance).</summary>
    public static ILookup<int, int> Children() => ParentsOfAll().ToLookup(p => p.Value, p => p.Key);

    /// <summary>CPU time (user + system) of each process, for PostgreSQL with its live and reaped children.</summary>
    public IReadOnlyList<TimeSpan> CpuTimes()
    {
        var children = Processes.Any(p => p.Role.StartsWith("postgres", StringComparison.Ordinal)) ? ParentsOfAll() : [];
        var times = new TimeSpan[Processes.Count];
        for (var i = 0; i < Processes.Count; i++)
        {
            var pid = Processes[i].Pid;
            var ticks = Stat(pid) is { } own ? own[11] + own[12] + own[13] + own[14] : 0;
            if (Processes[i].Role.StartsWith("postgres", StringComparison.Ordinal))
            {
                foreach (var (child, parent) in children)
                {
                    if (parent == pid && Stat(child) is { } stat)
                    {
                        ticks += stat[11] + stat[12];
                    }
                }
            }

            times[i] = TimeSpan.FromSeconds(ticks / TicksPerSecond);
        }

        return times;
    }

    private static (string Name, bool IsService)? RoleOf(int pid)
    {
        var argv = CommandLine(pid);
        if (argv.Length == 0)
        {
            return null;
        }

        var program = Path.GetFileName(argv[0]);
        var main = program == "dotnet" && argv.Length > 1 ? Path.GetFileNameWithoutExtension(argv[1]) : program;
        string? Option(string name) => Array.IndexOf(argv, name) is var at and >= 0 && at + 1 < argv.Length ? argv[at + 1] : null;
        return main switch
        {
            "CqrsDapr.CommandService" when !argv.Contains("migrate") => ("command-service", true),
            "CqrsDapr.QueryService" => ("query-service", true),
            "CqrsDapr.Gateway" => ("gateway", true),
            "CqrsDapr.DaprEmulator" => ($"sidecar {Option("--app-id")} (emulator)", false),
            "daprd" => ($"sidecar {Option("--app-id") ?? Option("-app-id")} (daprd)", false),
            "postgres" when Option("-D") is { } data => ($"postgres {Path.GetFileName(data.TrimEnd('/'))}", false),
            "redis-server" => ("redis-server", false),
            // Aspire's orchestrator, which runs the proxies too: in front of every endpoint in the development profile
            // (each hop crosses one), only the dashboard's OTLP endpoint in the production profile.
            "dcp" when argv.Length > 1 && argv[1] == "run-controllers" => ("DCP (Aspire orchestrator and its proxies)", false),
            "dcp" when argv.Length > 1 && argv[1] == "start-apiserver" => ("DCP API server (Aspire)", false),
            _ when main.EndsWith(".AppHost", StringComparison.Ordinal) => (AppHostRole, false),
            "placement" => ("dapr-placement", false),
            "scheduler" => ("dapr-scheduler", false),
            "Aspire.Dashboard" => ("Aspire dashboard (telemetry)", false),
            _ => null, // launchers (dotnet run, runuser), dcp's process monitors, PostgreSQL's children
        };
    }

    /// <summary>
    /// Aspire's processes that are not the root's descendants but work for the system: the dcp API server above
    /// <c>dcp run-controllers</c> (or the root itself), and the AppHost it watches (<c>--monitor</c>), which streams
    /// resource states and logs to the dashboard.
    /// </summary>
    private static IEnumerable<int> AspireAbove(int root, Dictionary<int, int> parents)
    {
        static bool IsDcp(int pid, string command) =>
            CommandLine(pid) is { Length: > 1 } argv && Path.GetFileName(argv[0]) == "dcp" && argv[1] == command;
        var apiServer = IsDcp(root, "start-apiserver") ? root
            : IsDcp(root, "run-controllers") && IsDcp(parents.GetValueOrDefault(root), "start-apiserver") ? parents[root]
            : 0;
        if (apiServer == 0)
        {
            yield break;
        }

        yield return apiServer;
        var argv = CommandLine(apiServer);
        if (Array.IndexOf(argv, "--monitor") is var at and >= 0 && at + 1 < argv.Length
            && int.TryParse(argv[at + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var appHost)
            && RoleOf(appHost) is { Name: AppHostRole })
        {
            yield return appHost;
        }
    }

    private static bool IsOrchestrator(int pid) =>
        CommandLine(pid) is { Length: > 1 } argv && Path.GetFileName(argv[0]) is "dcp" or "dapr" && argv[1] is "run-controllers" or "run";

    private static string Describe(int pid) => CommandLine(pid) is { Length: > 0 } argv
        ? string.Join(' ', argv.Take(2).Select(Path.GetFileName))
        : "?";

    /// <summary>The process with a listening TCP socket on <paramref name="port"/> (IPv4 or IPv6), if any.</summary>
    private static int? ListenerOf(int port)
    {
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(table))
            {
                continue;
            }

            foreach (var line in File.ReadLines(table).Skip(1))
            {
                // sl local_address rem_address st ... inode: local is HEXADDR:HEXPORT, state 0A is LISTEN.
                var columns = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (columns.Length > 9 && columns[3] == "0A"
                    && int.Parse(columns[1][(columns[1].LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture) == port)
                {
                    inodes.Add($"socket:[{columns[9]}]");
                }
            }
        }

        if (inodes.Count == 0)
        {
            return null;
        }

        foreach (var pid in Pids())
        {
            try
            {
                foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
                {
                    if (new FileInfo(fd).LinkTarget is { } target && inodes.Contains(target))
                    {
                        return pid;
                    }
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                // gone, or another user's process
            }
        }

        return null;
    }

    private static IEnumerable<int> SelfAndAncestors(int pid, Dictionary<int, int> parents)
    {
        for (var current = pid; current > 1; current = parents.GetValueOrDefault(current))
        {
            yield return current;
        }
    }

    private static List<int> DescendantsOf(int root, Dictionary<int, int> parents)
    {
        var children = parents.ToLookup(p => p.Value, p => p.Key);
        var all = new List<int> { root };
        for (var i = 0; i < all.Count; i++)
        {
            all.AddRange(children[all[i]]);
        }

        return all;
    }

    private static Dictionary<int, int> ParentsOfAll()
    {
        var parents = new Dictionary<int, int>();
        foreach (var pid in Pids())
        {
            if (Stat(pid) is { } stat)
            {
                parents[pid] = (int)stat[1];
            }
        }

        return parents;
    }

    private static IEnumerable<int> Pids()
    {
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                yield return pid;
            }
        }
    }

    /// <summary>
    /// The arguments. A process that rewrote its title into one string (redis-server: "/usr/bin/redis-server
    /// 127.0.0.1:6379") is split at spaces.
    /// </summary>
    private static string[] CommandLine(int pid)
    {
        var argv = Read($"/proc/{pid}/cmdline") is { } text ? text.Split('\0', StringSplitOptions.RemoveEmptyEntries) : [];
        return argv.Length == 1 ? argv[0].Split(' ', StringSplitOptions.RemoveEmptyEntries) : argv;
    }

    private static string Status(int pid) => Read($"/proc/{pid}/status") ?? "";

    /// <summary>A "Name: value kB" line of /proc/pid/status as a number (0 when missing).</summary>
    private static long Field(string status, string name)
    {
        var at = status.IndexOf("\n" + name, StringComparison.Ordinal);
        if (at < 0)
        {
            return 0;
        }

        var value = status.AsSpan(at + name.Length + 1);
        var end = value.IndexOfAny('\n', 'k');
        value = (end < 0 ? value : value[..end]).Trim();
        return long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) ? number : 0;
    }

    /// <summary>/proc/pid/stat's fields after the command name, numbered as in proc(5) minus 3 (state [0], ppid [1], utime [11], stime [12], cutime [13], cstime [14]).</summary>
    private static long[]? Stat(int pid)
    {
        if (Read($"/proc/{pid}/stat") is not { } text)
        {
            return null;
        }

        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        var numbers = new long[Math.Min(fields.Length, 15)];
        for (var i = 1; i < numbers.Length; i++)
        {
            numbers[i] = long.Parse(fields[i], CultureInfo.InvariantCulture);
        }

        return numbers;
    }

    private static string? Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null; // the process ended meanwhile
        }
    }
}
