using System.Diagnostics;
using System.Globalization;

namespace CqrsDapr.AppHost.Tests;

/// <summary>
/// The write side's lower CPU priority reaches every thread of every process in a resource's tree, not only the main
/// thread (Linux niceness is per thread), and children started later inherit it.
/// </summary>
public sealed class WriteSidePriorityTests
{
    [Fact]
    public async Task Renice_reaches_every_thread_of_the_process_and_its_children()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "niceness is read from /proc");
        // A shell with two children, one of them with several threads (Redis's background I/O threads, started
        // before the renice): niceness is per thread on Linux, so renicing the main threads alone would not do.
        var socket = Path.Combine(Path.GetTempPath(), $"cqrsdapr-nice-{Guid.NewGuid():N}.sock");
        using var shell = Process.Start(new ProcessStartInfo(
            "bash", ["-c", $"redis-server --port 0 --unixsocket {socket} --save '' --appendonly no --loglevel warning & sleep 300 & wait"])
        { UseShellExecute = false })!;
        try
        {
            var tree = await WaitForTreeAsync(shell.Id, size: 3);
            Assert.Contains(tree, pid => Directory.GetDirectories($"/proc/{pid}/task").Length > 1);

            var threads = WriteSidePriority.Renice(shell.Id, 7);

            Assert.Equal(tree.Sum(pid => Directory.GetDirectories($"/proc/{pid}/task").Length), threads);
            Assert.All(tree.SelectMany(pid => Directory.GetDirectories($"/proc/{pid}/task")), task => Assert.Equal(7, Niceness(task)));
            Assert.All(Directory.GetDirectories($"/proc/{Environment.ProcessId}/task").Take(1), task => Assert.Equal(0, Niceness(task)));
        }
        finally
        {
            foreach (var pid in WriteSidePriority.ProcessTree(shell.Id).Reverse())
            {
                try
                {
                    using var process = Process.GetProcessById(pid);
                    process.Kill();
                }
                catch (ArgumentException)
                {
                }
            }

            File.Delete(socket);
        }
    }

    [Fact]
    public void Process_tree_of_a_process_without_children_is_itself()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the tree is read from /proc");
        using var sleeper = Process.Start(new ProcessStartInfo("sleep", ["300"]) { UseShellExecute = false })!;
        try
        {
            Assert.Equal([sleeper.Id], WriteSidePriority.ProcessTree(sleeper.Id));
        }
        finally
        {
            sleeper.Kill();
        }
    }

    private static async Task<IReadOnlyList<int>> WaitForTreeAsync(int root, int size)
    {
        for (var i = 0; i < 200; i++)
        {
            var tree = WriteSidePriority.ProcessTree(root);
            if (tree.Count >= size && tree.Any(pid => Directory.GetDirectories($"/proc/{pid}/task").Length > 1))
            {
                return tree;
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        throw new TimeoutException($"Process {root} did not start {size - 1} children, one of them with threads.");
    }

    /// <summary>Field 19 of <c>/proc/[pid]/task/[tid]/stat</c>, after the command name in parentheses.</summary>
    private static int Niceness(string task)
    {
        var stat = File.ReadAllText(Path.Combine(task, "stat"));
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[16], NumberStyles.Integer, CultureInfo.InvariantCulture);
    }
}
