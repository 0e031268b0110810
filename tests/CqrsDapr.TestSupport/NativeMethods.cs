using System.Runtime.InteropServices;

namespace CqrsDapr.TestSupport;

internal static partial class NativeMethods
{
    internal static bool IsRoot =>
        !OperatingSystem.IsWindows() && (SysGetEuid() == 0 || Environment.UserName == "root");

    /// <summary>Sends a POSIX signal; false when the process is gone (or on Windows).</summary>
    internal static bool TrySignal(int pid, PosixSignal signal) =>
        !OperatingSystem.IsWindows() && SysKill(pid, Number(signal)) == 0;

    /// <summary>The name setpriv and kill(1) understand, without the SIG prefix.</summary>
    internal static string Name(PosixSignal signal) => signal switch
    {
        PosixSignal.SIGHUP => "HUP",
        PosixSignal.SIGINT => "INT",
        PosixSignal.SIGQUIT => "QUIT",
        PosixSignal.SIGTERM => "TERM",
        _ => throw new ArgumentOutOfRangeException(nameof(signal), signal, "Only HUP, INT, QUIT and TERM are supported."),
    };

    // Linux numbering (identical on macOS for these four).
    private static int Number(PosixSignal signal) => signal switch
    {
        PosixSignal.SIGHUP => 1,
        PosixSignal.SIGINT => 2,
        PosixSignal.SIGQUIT => 3,
        PosixSignal.SIGTERM => 15,
        _ => throw new ArgumentOutOfRangeException(nameof(signal), signal, "Only HUP, INT, QUIT and TERM are supported."),
    };

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint SysGetEuid();
}
