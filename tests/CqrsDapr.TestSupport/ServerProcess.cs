using System.Diagnostics;
using System.Runtime.InteropServices;

namespace CqrsDapr.TestSupport;

/// <summary>
/// Lifecycle shared by every server this library runs: launch on fresh ports with retry on "address already in use",
/// bounded readiness polling, crash (kill), graceful stop and restart on the same ports.
/// </summary>
internal sealed class ServerProcess(
    string name,
    Action pickPorts,
    Func<ChildProcess> launch,
    Func<CancellationToken, Task<bool>> probe,
    PosixSignal stopSignal = PosixSignal.SIGTERM) : IAsyncDisposable
{
    internal static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan MaxProbePause = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);
    private const int MaxPortAttempts = 5;

    private ChildProcess? current;
    private ChildProcess? last;

    public bool IsRunning => current is { HasExited: false };

    /// <summary>The OS process id of the running server, or null when it is not running.</summary>
    public int? ProcessId => current is { HasExited: false } running ? running.Id : null;

    public IReadOnlyList<string> Logs => last?.Logs ?? [];

    public string LogTail(int lines) => last?.LogTail(lines) ?? string.Empty;

    /// <summary>Picks ports, launches and waits for readiness; picks new ports when they turn out to be taken.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            pickPorts();
            if (await TryLaunchAsync(cancellationToken))
            {
                return;
            }

            if (attempt == MaxPortAttempts)
            {
                throw new InvalidOperationException(
                    $"{name}: its ports were taken by other processes {MaxPortAttempts} times in a row. Last output:\n{LogTail(40)}");
            }
        }
    }

    /// <summary>Kills the server if it still runs, then starts it again on the same ports.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken)
    {
        await KillAsync();
        if (!await TryLaunchAsync(cancellationToken))
        {
            throw new InvalidOperationException(
                $"{name}: cannot restart, another process took its port meanwhile. Output:\n{LogTail(40)}");
        }
    }

    /// <summary>Stops the server abruptly (a crash, as far as clients can tell): see <see cref="ChildProcess.KillAsync"/>.</summary>
    public async Task KillAsync()
    {
        if (Interlocked.Exchange(ref current, null) is { } process)
        {
            await process.DisposeAsync();
        }
    }

    /// <summary>Asks the server to shut down (signal), kills it after a grace period.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref current, null) is { } process)
        {
            await process.StopAsync(StopGrace, stopSignal);
            await process.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private async Task<bool> TryLaunchAsync(CancellationToken cancellationToken)
    {
        var process = launch();
        last = process;
        bool ready;
        try
        {
            ready = await WaitUntilReadyAsync(process, cancellationToken);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }

        if (ready)
        {
            current = process;
            return true;
        }

        await process.DisposeAsync();
        return false;
    }

    /// <summary>True when ready; false when the process exited because its port was taken; throws otherwise.</summary>
    private async Task<bool> WaitUntilReadyAsync(ChildProcess process, CancellationToken cancellationToken)
    {
        var pause = TimeSpan.FromMilliseconds(10);
        var elapsed = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                await process.WaitForExitAsync(ProbeTimeout, cancellationToken); // Drains the captured output.
                if (process.Logs.Any(line => line.Contains("address already in use", StringComparison.OrdinalIgnoreCase)))
                {
                    return false;
                }

                throw new InvalidOperationException(
                    $"{name} exited with code {process.ExitCode} before it was ready. Output:\n{process.LogTail(40)}");
            }

            using (var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                attempt.CancelAfter(ProbeTimeout);
                try
                {
                    if (await probe(attempt.Token))
                    {
                        return true;
                    }
                }
                catch (Exception) when (!cancellationToken.IsCancellationRequested)
                {
                    // Not accepting connections yet.
                }
            }

            if (elapsed.Elapsed > ReadyTimeout)
            {
                throw new TimeoutException(
                    $"{name} was not ready within {ReadyTimeout.TotalSeconds:0} s. Output:\n{process.LogTail(40)}");
            }

            // Short polls first (a sidecar is up in a few hundred ms), then back off to spare a slow server.
            await Task.Delay(pause, cancellationToken);
            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, MaxProbePause.Ticks));
        }
    }
}
