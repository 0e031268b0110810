using System.Diagnostics;
using System.Runtime.InteropServices;

namespace CqrsDapr.TestSupport;

/// <summary>
/// A child process whose stdout/stderr are captured line by line and which is killed (with its whole process tree)
/// on dispose, on test-process exit, and — on Linux — when the test process dies.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private const int MaxLogLines = 10_000;
    private static readonly string? SetPriv = Executables.FindOnPath("setpriv");
    private static readonly string? RunUser = Executables.FindOnPath("runuser");

    private static readonly TimeSpan AbortGrace = TimeSpan.FromSeconds(5);

    private readonly Process process;
    private readonly PosixSignal? abortSignal;
    private readonly Queue<string> logs = new();
    private readonly Lock logGate = new();
    private int? exitCode;
    private bool disposed;

    private ChildProcess(string name, Process process, PosixSignal? abortSignal)
    {
        Name = name;
        this.process = process;
        this.abortSignal = abortSignal;
    }

    /// <summary>A short human-readable name used in log and exception messages.</summary>
    public string Name { get; }

    /// <summary>The OS process id of the direct child.</summary>
    public int Id { get; private set; }

    /// <summary>True once the direct child has exited (always after dispose).</summary>
    public bool HasExited => disposed || process.HasExited;

    /// <summary>The exit code once exited, otherwise null.</summary>
    public int? ExitCode => disposed ? exitCode : process.HasExited ? process.ExitCode : null;

    /// <summary>A snapshot of the captured stdout and stderr lines (the last 10,000), in arrival order.</summary>
    public IReadOnlyList<string> Logs
    {
        get
        {
            lock (logGate)
            {
                return [.. logs];
            }
        }
    }

    /// <summary>The last <paramref name="lines"/> captured lines joined with newlines.</summary>
    public string LogTail(int lines = 40)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(lines);
        lock (logGate)
        {
            return string.Join('\n', logs.Skip(Math.Max(0, logs.Count - lines)));
        }
    }

    /// <summary>
    /// Starts <paramref name="startInfo"/>'s file with its arguments (<see cref="ProcessStartInfo.ArgumentList"/>),
    /// environment and working directory. Output is always redirected and captured.
    /// </summary>
    /// <param name="name">Used in messages.</param>
    /// <param name="startInfo">What to run.</param>
    /// <param name="runAsUser">Switches to this user when running as root (ignored otherwise).</param>
    /// <param name="abortSignal">
    /// For programs with worker processes: a signal on which the program stops at once and reaps its own children
    /// (SIGQUIT for PostgreSQL). Kills send it first, so the workers are not orphaned (orphans become zombies where
    /// PID 1 does not reap); SIGKILL of the tree follows only if it does not exit. Null: SIGKILL straight away.
    /// </param>
    public static ChildProcess Start(string name, ProcessStartInfo startInfo, string? runAsUser = null, PosixSignal? abortSignal = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(startInfo);
        var parentDeathSignal = abortSignal is { } signal ? NativeMethods.Name(signal) : "KILL";

        var effective = Wrap(startInfo, NativeMethods.IsRoot ? runAsUser : null, parentDeathSignal);
        effective.UseShellExecute = false;
        effective.RedirectStandardOutput = true;
        effective.RedirectStandardError = true;
        effective.RedirectStandardInput = false;

        var process = new Process { StartInfo = effective, EnableRaisingEvents = true };
        var child = new ChildProcess(name, process, abortSignal);
        process.OutputDataReceived += (_, e) => child.Append(e.Data);
        process.ErrorDataReceived += (_, e) => child.Append(e.Data);

        try
        {
            ProcessRegistry.StartOnLauncherThread(process);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            process.Dispose();
            throw new InvalidOperationException($"{name}: could not start '{startInfo.FileName}': {ex.Message}", ex);
        }

        child.Id = process.Id;
        ProcessRegistry.Register(child);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Runs a short-lived command to completion; throws with its output when it fails or times out.</summary>
    public static async Task<string> RunAsync(
        string name,
        ProcessStartInfo startInfo,
        TimeSpan timeout,
        string? runAsUser = null,
        CancellationToken cancellationToken = default)
    {
        await using var child = Start(name, startInfo, runAsUser);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await child.process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{name} did not finish within {timeout.TotalSeconds:0} s. Output:\n{child.LogTail()}");
        }

        if (child.process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{name} failed with exit code {child.process.ExitCode}. Output:\n{child.LogTail()}");
        }

        return string.Join('\n', child.Logs);
    }

    /// <summary>Waits until the direct child exits; returns false if it is still running after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (disposed)
        {
            return true;
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return process.HasExited;
        }
    }

    /// <summary>
    /// Stops the process abruptly (a crash, as clients see it) and waits for the exit: the abort signal given to
    /// <see cref="Start"/> if any, then SIGKILL of the whole process tree.
    /// </summary>
    public async Task KillAsync()
    {
        if (abortSignal is { } signal && !HasExited && NativeMethods.TrySignal(Id, signal))
        {
            await WaitForExitAsync(AbortGrace);
        }

        TryKillTree();
        await WaitForExitAsync(TimeSpan.FromSeconds(10));
        ProcessRegistry.Unregister(this);
    }

    /// <summary>
    /// Sends <paramref name="signal"/> (default SIGTERM) to the direct child and waits up to <paramref name="grace"/>
    /// for it to exit; kills the process tree after that.
    /// </summary>
    public async Task StopAsync(TimeSpan grace, PosixSignal signal = PosixSignal.SIGTERM)
    {
        if (!HasExited && NativeMethods.TrySignal(Id, signal))
        {
            await WaitForExitAsync(grace);
        }

        await KillAsync();
    }

    /// <summary>Kills the process tree and waits briefly; synchronous for process-exit handlers, never throws.</summary>
    internal void KillNow()
    {
        try
        {
            if (abortSignal is { } signal && !process.HasExited && NativeMethods.TrySignal(Id, signal))
            {
                process.WaitForExit(2_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Not started or already disposed.
        }

        if (TryKillTree())
        {
            try
            {
                process.WaitForExit(5_000);
            }
            catch (InvalidOperationException)
            {
                // Not started or already disposed.
            }
        }
    }

    private bool TryKillTree()
    {
        try
        {
            if (process.HasExited)
            {
                return false;
            }

            process.Kill(entireProcessTree: true);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false; // Already exited, never started, or disposed.
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false; // Lost a race with the exit, or not permitted: nothing more we can do.
        }
    }

    /// <summary>Kills the process tree (if still running) and releases the process handle.</summary>
    public async ValueTask DisposeAsync()
    {
        if (disposed)
        {
            return;
        }

        await KillAsync();
        exitCode = process.HasExited ? process.ExitCode : null;
        disposed = true;
        process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (logGate)
        {
            if (logs.Count == MaxLogLines)
            {
                logs.Dequeue();
            }

            logs.Enqueue(line);
        }
    }

    /// <summary>
    /// On Linux, prefixes the command with <c>setpriv [--reuid U --regid U --init-groups] --pdeathsig SIG --</c>
    /// (one exec chain: the child pid is the server's pid, so signals reach it directly);
    /// falls back to <c>runuser -u U --</c> without setpriv.
    /// </summary>
    private static ProcessStartInfo Wrap(ProcessStartInfo original, string? runAsUser, string parentDeathSignal)
    {
        var prefix = new List<string>();
        string? launcher = null;
        if (SetPriv is not null && OperatingSystem.IsLinux())
        {
            launcher = SetPriv;
            if (runAsUser is not null)
            {
                prefix.AddRange(["--reuid", runAsUser, "--regid", runAsUser, "--init-groups"]);
            }

            // After the user switch in the same setpriv: a uid change clears the parent-death signal.
            prefix.AddRange(["--pdeathsig", parentDeathSignal, "--"]);
        }
        else if (runAsUser is not null)
        {
            launcher = RunUser ?? throw new InvalidOperationException(
                $"Running '{original.FileName}' as '{runAsUser}' needs setpriv or runuser (util-linux).");
            prefix.AddRange(["-u", runAsUser, "--"]);
        }

        if (launcher is null)
        {
            return original;
        }

        if (!string.IsNullOrEmpty(original.Arguments))
        {
            throw new ArgumentException("Use ProcessStartInfo.ArgumentList, not Arguments.", nameof(original));
        }

        var wrapped = new ProcessStartInfo(launcher)
        {
            WorkingDirectory = original.WorkingDirectory,
        };
        foreach (var argument in prefix)
        {
            wrapped.ArgumentList.Add(argument);
        }

        wrapped.ArgumentList.Add(original.FileName);
        foreach (var argument in original.ArgumentList)
        {
            wrapped.ArgumentList.Add(argument);
        }

        wrapped.Environment.Clear();
        foreach (var (key, value) in original.Environment)
        {
            wrapped.Environment[key] = value;
        }

        return wrapped;
    }
}
