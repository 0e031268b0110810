namespace CqrsDapr.AppHost.Tests;

/// <summary>A data directory and a Dapr bin directory of the test's own, deleted afterwards.</summary>
internal sealed class TestDirectories : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "cqrsdapr-apphost-tests", Guid.NewGuid().ToString("N"));

    public TestDirectories()
    {
        Directory.CreateDirectory(Data);
        Directory.CreateDirectory(Bin);
    }

    /// <summary>What <c>CqrsDapr:DataDirectory</c> points at.</summary>
    public string Data => Path.Combine(root, "data");

    /// <summary>What <c>CqrsDapr:DaprBinDirectory</c> points at: empty until <see cref="Install"/>.</summary>
    public string Bin => Path.Combine(root, "bin");

    /// <summary>Puts executable stand-ins named like the Dapr binaries into <see cref="Bin"/> (never run: the model is not started).</summary>
    public TestDirectories Install(params string[] binaries)
    {
        foreach (var binary in binaries)
        {
            var path = Path.Combine(Bin, OperatingSystem.IsWindows() ? binary + ".exe" : binary);
            File.WriteAllText(path, "#!/bin/sh\nexit 1\n");
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }

        return this;
    }

    /// <summary>The AppHost's arguments: these directories, the gateway on an allocated port, and <paramref name="more"/>.</summary>
    public string[] Args(params string[] more) =>
        [$"--CqrsDapr:DataDirectory={Data}", $"--CqrsDapr:DaprBinDirectory={Bin}", "--CqrsDapr:Ports:gateway=0", .. more];

    public void Dispose()
    {
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
