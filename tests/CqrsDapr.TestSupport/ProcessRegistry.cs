using System.Collections.Concurrent;
using System.Diagnostics;

namespace CqrsDapr.TestSupport;

/// <summary>
/// The one place that knows every child process and temp directory this library created,
/// and makes sure none of them outlives the test process.
/// </summary>
/// <remarks>
/// Three layers, from most to least graceful:
/// <list type="number">
/// <item><c>DisposeAsync</c> on the owning object (normal path).</item>
/// <item><see cref="AppDomain.ProcessExit"/> / <see cref="AppDomain.UnhandledException"/>: kills every live child and
/// deletes every temp directory (a test run that forgot to dispose, was cancelled with SIGTERM/SIGINT, or crashed).</item>
/// <item>On Linux, children are started through <c>setpriv --pdeathsig KILL</c> from one dedicated thread that lives as
/// long as the process, so the kernel kills them even when the test process is SIGKILLed
/// (the parent-death signal fires when the thread that forked the child exits, hence not a thread-pool thread).</item>
/// </list>
/// Directories left behind by a test process that died anyway are swept by <see cref="TempDirectory"/>.
/// </remarks>
internal static class ProcessRegistry
{
    private static readonly ConcurrentDictionary<ChildProcess, byte> LiveProcesses = new();
    private static readonly ConcurrentDictionary<string, byte> LiveDirectories = new(StringComparer.Ordinal);
    private static readonly BlockingCollection<LaunchRequest> Launches = [];
    private static int cleanedUp;

    static ProcessRegistry()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => CleanUpEverything();
        AppDomain.CurrentDomain.UnhandledException += (_, _) => CleanUpEverything();
        var launcher = new Thread(LaunchLoop)
        {
            IsBackground = true,
            Name = "CqrsDapr.TestSupport process launcher",
        };
        launcher.Start();
    }

    /// <summary>Starts <paramref name="process"/> on the dedicated launcher thread (see remarks on the class).</summary>
    internal static void StartOnLauncherThread(Process process)
    {
        var request = new LaunchRequest(process);
        Launches.Add(request);
        request.Done.Task.GetAwaiter().GetResult();
    }

    internal static void Register(ChildProcess process) => LiveProcesses.TryAdd(process, 0);

    internal static void Unregister(ChildProcess process) => LiveProcesses.TryRemove(process, out _);

    internal static void Register(string directory) => LiveDirectories.TryAdd(directory, 0);

    internal static void Unregister(string directory) => LiveDirectories.TryRemove(directory, out _);

    private static void LaunchLoop()
    {
        foreach (var request in Launches.GetConsumingEnumerable())
        {
            try
            {
                request.Process.Start();
                request.Done.SetResult();
            }
            catch (Exception ex)
            {
                request.Done.SetException(ex);
            }
        }
    }

    /// <summary>Synchronous and exception-free: runs in process-exit and crash handlers.</summary>
    private static void CleanUpEverything()
    {
        if (Interlocked.Exchange(ref cleanedUp, 1) == 1)
        {
            return;
        }

        foreach (var process in LiveProcesses.Keys)
        {
            process.KillNow();
        }

        foreach (var directory in LiveDirectories.Keys)
        {
            TempDirectory.TryDelete(directory);
        }
    }

    private sealed class LaunchRequest(Process process)
    {
        public Process Process { get; } = process;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
