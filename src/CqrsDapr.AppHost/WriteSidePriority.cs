using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.AppHost;

/// <summary>
/// On one machine the read side and the write side share the cores; in a cluster each side has its own pods and CPU
/// requests (the Helm chart's <c>resources</c>). Here the write side's own processes (the command service, its sidecar
/// and the write database, with every thread and child process) run at a lower CPU priority (<c>nice</c>): when both
/// sides want the CPU, reads get it first, so writes offered past their capacity cannot starve reads; when reads are
/// quiet, writes use every core. <c>CqrsDapr:WriteSideNice</c> sets the niceness (default 10, 0 turns it off; Linux).
/// Renicing the main thread alone would miss the thread pools already running: every task of every process in the
/// resource's tree is reniced, and threads and PostgreSQL backends started later inherit it from their parent.
/// </summary>
internal sealed partial class WriteSidePriority(
    ResourceNotificationService notifications,
    WriteSidePriority.Settings settings,
    ILogger<WriteSidePriority> logger) : BackgroundService
{
    public const string SettingName = "CqrsDapr:WriteSideNice";
    public const int DefaultNiceness = 10;

    private const int PrioProcess = 0;

    internal sealed record Settings(int Niceness, IReadOnlySet<string> Resources);

    public static void Add(IDistributedApplicationBuilder builder, params IResource[] writeSide)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var niceness = builder.Configuration.GetValue(SettingName, DefaultNiceness);
        if (niceness == 0 || !OperatingSystem.IsLinux())
        {
            return;
        }

        if (niceness is < 1 or > 19)
        {
            throw new InvalidOperationException($"{SettingName} must be between 0 (off) and 19; it is {niceness}.");
        }

        builder.Services.AddSingleton(new Settings(niceness, writeSide.Select(r => r.Name).ToHashSet(StringComparer.Ordinal)));
        builder.Services.AddHostedService<WriteSidePriority>();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var done = new Dictionary<string, int>(StringComparer.Ordinal);
        try
        {
            await foreach (var change in notifications.WatchAsync(stoppingToken))
            {
                if (!settings.Resources.Contains(change.Resource.Name) || ResourcePid.Of(change.Snapshot) is not { } pid
                    || (done.TryGetValue(change.Resource.Name, out var before) && before == pid))
                {
                    continue;
                }

                done[change.Resource.Name] = pid;
                var threads = Renice(pid, settings.Niceness);
                LogReniced(logger, change.Resource.Name, pid, settings.Niceness, threads);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Sets the niceness of every thread of <paramref name="root"/> and of its descendants; returns how many.</summary>
    internal static int Renice(int root, int niceness)
    {
        var threads = 0;
        foreach (var pid in ProcessTree(root))
        {
            string[] tasks;
            try
            {
                tasks = Directory.GetDirectories($"/proc/{pid}/task");
            }
            catch (IOException)
            {
                continue; // exited meanwhile
            }

            foreach (var task in tasks)
            {
                if (int.TryParse(Path.GetFileName(task), NumberStyles.Integer, CultureInfo.InvariantCulture, out var tid)
                    && SetPriority(PrioProcess, tid, niceness) == 0)
                {
                    threads++;
                }
            }
        }

        return threads;
    }

    /// <summary><paramref name="root"/> and every process below it (parent ids from <c>/proc/*/stat</c>).</summary>
    internal static IReadOnlyList<int> ProcessTree(int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid)
                && ProcessStat.Read(pid) is { } stat)
            {
                (children.TryGetValue(stat.ParentPid, out var list) ? list : children[stat.ParentPid] = []).Add(pid);
            }
        }

        var tree = new List<int> { root };
        for (var i = 0; i < tree.Count; i++)
        {
            if (children.TryGetValue(tree[i], out var below))
            {
                tree.AddRange(below);
            }
        }

        return tree;
    }

    [LibraryImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static partial int SetPriority(int which, int who, int priority);

    [LoggerMessage(Level = LogLevel.Information, Message = "Write side: {Resource} (pid {Pid}) runs at nice {Niceness} ({Threads} threads), so reads get the CPU first")]
    private static partial void LogReniced(ILogger logger, string resource, int pid, int niceness, int threads);
}
