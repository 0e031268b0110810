using System.Diagnostics;
using System.Globalization;

namespace CqrsDapr.TestSupport;

/// <summary>
/// A directory under <c>{temp}/cqrsdapr-tests/{guid}</c>, deleted on dispose or at process exit.
/// Holds an <c>owner.pid</c> file so directories of a test process that died are swept by the next one.
/// </summary>
internal sealed class TempDirectory : IDisposable
{
    private const string OwnerFile = "owner.pid";
    private static readonly string Root = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "cqrsdapr-tests");
    private static int swept;

    private TempDirectory(string path) => Path = path;

    public string Path { get; }

    public static TempDirectory Create()
    {
        if (Interlocked.Exchange(ref swept, 1) == 0)
        {
            SweepOrphans();
        }

        var path = System.IO.Path.Combine(Root, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        ProcessRegistry.Register(path);
        File.WriteAllText(System.IO.Path.Combine(path, OwnerFile), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        return new TempDirectory(path);
    }

    /// <summary>Creates (if needed) and returns a subdirectory.</summary>
    public string Sub(string name) => Directory.CreateDirectory(System.IO.Path.Combine(Path, name)).FullName;

    public void Dispose()
    {
        TryDelete(Path);
        ProcessRegistry.Unregister(Path);
    }

    /// <summary>Best-effort recursive delete; never throws.</summary>
    internal static void TryDelete(string path)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                if (Directory.Exists(path))
                {
                    Directory.Delete(path, recursive: true);
                }

                return;
            }
            catch (IOException)
            {
                Thread.Sleep(50); // A just-killed server may still be closing files.
            }
            catch (UnauthorizedAccessException)
            {
                return;
            }
        }
    }

    private static void SweepOrphans()
    {
        if (!Directory.Exists(Root))
        {
            return;
        }

        foreach (var directory in Directory.EnumerateDirectories(Root))
        {
            var ownerFile = System.IO.Path.Combine(directory, OwnerFile);
            try
            {
                if (File.Exists(ownerFile)
                    && int.TryParse(File.ReadAllText(ownerFile), CultureInfo.InvariantCulture, out var pid)
                    && !IsAlive(pid))
                {
                    TryDelete(directory);
                }
            }
            catch (IOException)
            {
                // Another test process is sweeping the same directory.
            }
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
