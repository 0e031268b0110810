using System.Diagnostics;
using System.Globalization;

namespace CqrsDapr.AppHost.Tests;

/// <summary>
/// A PostgreSQL killed with its launcher leaves a lock file naming a zombie; the next start removes it instead of
/// failing with "lock file postmaster.pid already exists". A lock file naming a live process stays.
/// </summary>
public sealed class PostgresLockFileTests : IDisposable
{
    private readonly TestDirectories directories = new();

    public void Dispose() => directories.Dispose();

    [Fact]
    public async Task A_lock_file_naming_a_zombie_is_removed()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "process states are read from /proc");
        // The child waits until its parent shell has become `sleep 300`, then exits; `sleep` never reaps it: a zombie.
        // Exiting any earlier would race the shell, which reaps children that end before its exec.
        const string script = "p=$$; (until [ \"$(cat /proc/$p/comm)\" = sleep ]; do sleep 0.01; done) & exec sleep 300";
        using var parent = Process.Start(new ProcessStartInfo("bash", ["-c", script]) { UseShellExecute = false })!;
        try
        {
            var zombie = await ZombieChildAsync(parent.Id);
            var data = LockFile(zombie);

            Assert.True(PostgresExecutable.RemoveStaleLockFile(data));
            Assert.False(File.Exists(Path.Combine(data, "postmaster.pid")));
        }
        finally
        {
            parent.Kill();
        }
    }

    [Fact]
    public void A_lock_file_naming_a_process_that_is_gone_is_removed()
    {
        using var exited = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        exited.WaitForExit(); // reaped by this process: the id names nothing now
        var data = LockFile(exited.Id);

        Assert.True(PostgresExecutable.RemoveStaleLockFile(data));
        Assert.False(File.Exists(Path.Combine(data, "postmaster.pid")));
    }

    [Fact]
    public void A_lock_file_naming_a_live_process_stays()
    {
        var data = LockFile(Environment.ProcessId);

        Assert.False(PostgresExecutable.RemoveStaleLockFile(data));
        Assert.True(File.Exists(Path.Combine(data, "postmaster.pid")));
    }

    [Fact]
    public void Without_a_lock_file_nothing_happens()
    {
        Assert.False(PostgresExecutable.RemoveStaleLockFile(NewDataDirectory()));
    }

    private string NewDataDirectory() => Directory.CreateDirectory(Path.Combine(directories.Data, Guid.NewGuid().ToString("N"))).FullName;

    /// <summary>A data directory whose lock file names <paramref name="pid"/>, in PostgreSQL's layout (pid on the first line).</summary>
    private string LockFile(int pid)
    {
        var data = NewDataDirectory();
        File.WriteAllLines(Path.Combine(data, "postmaster.pid"), [pid.ToString(CultureInfo.InvariantCulture), data, "1733580000", "5432"]);
        return data;
    }

    private static async Task<int> ZombieChildAsync(int parent)
    {
        for (var i = 0; i < 200; i++)
        {
            foreach (var directory in Directory.EnumerateDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), CultureInfo.InvariantCulture, out _)))
            {
                string stat;
                try
                {
                    stat = File.ReadAllText(Path.Combine(directory, "stat"));
                }
                catch (IOException)
                {
                    continue;
                }

                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields[0] == "Z" && fields[1] == parent.ToString(CultureInfo.InvariantCulture))
                {
                    return int.Parse(Path.GetFileName(directory), CultureInfo.InvariantCulture);
                }
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        throw new TimeoutException($"Process {parent} has no zombie child.");
    }
}
