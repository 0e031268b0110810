using System.Runtime.InteropServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.AppHost;

/// <summary>
/// The AppHost's limit of open files (<c>RLIMIT_NOFILE</c>), which DCP (Aspire's orchestrator) and through it every
/// resource inherit: its soft limit is raised to the hard limit at start (Linux), and logged once. DCP ran out of file
/// descriptors under load once, concluded that the AppHost had exited and stopped every resource. The .NET runtime
/// raises its own soft limit too; this makes the AppHost's limit a fact it states rather than an assumption, and says
/// so when it cannot be raised. (DCP, a Go program, raises its own and restores the inherited one for its children.)
/// </summary>
internal static partial class FileDescriptorLimit
{
    private const int RlimitNofile = 7; // Linux's RLIMIT_NOFILE, on every architecture .NET runs on

    /// <summary>What <see cref="Raise"/> found and did; <see cref="Errno"/> is set when raising failed.</summary>
    internal readonly record struct Outcome(ulong Before, ulong Soft, ulong Hard, int? Errno)
    {
        public bool Raised => Soft > Before;
    }

    /// <summary>Raises the limit now (before any process starts) and logs it once the host starts.</summary>
    public static void Apply(IDistributedApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (!OperatingSystem.IsLinux() || !builder.ExecutionContext.IsRunMode)
        {
            return;
        }

        var outcome = Raise();
        builder.Services.AddHostedService(services => new Report(outcome, services.GetRequiredService<ILogger<Report>>()));
    }

    /// <summary>Sets the soft limit to the hard limit (Linux only).</summary>
    internal static Outcome Raise()
    {
        if (!TryGet(out var before, out var hard, out var errno))
        {
            return new Outcome(0, 0, 0, errno);
        }

        if (before >= hard)
        {
            return new Outcome(before, before, hard, null);
        }

        if (!TrySetSoft(hard, out errno))
        {
            return new Outcome(before, before, hard, errno);
        }

        return TryGet(out var soft, out hard, out errno) ? new Outcome(before, soft, hard, null) : new Outcome(before, before, hard, errno);
    }

    /// <summary>This process's soft and hard limit.</summary>
    internal static bool TryGet(out ulong soft, out ulong hard, out int errno)
    {
        if (GetRLimit(RlimitNofile, out var limit) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            soft = hard = 0;
            return false;
        }

        (soft, hard, errno) = (limit.Current, limit.Maximum, 0);
        return true;
    }

    /// <summary>Sets this process's soft limit (the hard limit unchanged).</summary>
    internal static bool TrySetSoft(ulong soft, out int errno)
    {
        errno = 0;
        if (GetRLimit(RlimitNofile, out var limit) != 0 || SetRLimit(RlimitNofile, new RLimit { Current = soft, Maximum = limit.Maximum }) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return false;
        }

        return true;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRLimit(int resource, out RLimit limit);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRLimit(int resource, in RLimit limit);

    /// <summary>Logs the outcome once, when the host starts.</summary>
    private sealed partial class Report(Outcome outcome, ILogger<Report> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (outcome.Errno is { } errno)
            {
                LogNotRaised(logger, outcome.Soft, outcome.Hard, Marshal.GetPInvokeErrorMessage(errno));
            }
            else if (outcome.Raised)
            {
                LogRaised(logger, outcome.Before, outcome.Soft, outcome.Hard);
            }
            else
            {
                LogLimit(logger, outcome.Soft, outcome.Hard);
            }

            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        [LoggerMessage(Level = LogLevel.Information, Message = "Open files limit (RLIMIT_NOFILE) raised from {Before} to {Soft} (hard limit {Hard}): DCP and every resource inherit it")]
        private static partial void LogRaised(ILogger logger, ulong before, ulong soft, ulong hard);

        [LoggerMessage(Level = LogLevel.Information, Message = "Open files limit (RLIMIT_NOFILE) is {Soft} (hard limit {Hard}): DCP and every resource inherit it")]
        private static partial void LogLimit(ILogger logger, ulong soft, ulong hard);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Open files limit (RLIMIT_NOFILE) stays at {Soft}, not raised to the hard limit {Hard} ({Error}): under load DCP or a resource may run out of file descriptors")]
        private static partial void LogNotRaised(ILogger logger, ulong soft, ulong hard, string error);
    }
}
