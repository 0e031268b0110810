using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace CqrsDapr.AppHost.Tests;

/// <summary>
/// What the AppHost checks at start (<see cref="Prerequisites"/>): PostgreSQL's server binaries and redis-server, and
/// for the local Cosmos DB stand-in node and its npm packages, looked for in folders of the test's own; when any is
/// missing, one message names them all with one install command. And the real AppHost stops with it, exit code 1.
/// </summary>
public sealed class PrerequisitesTests : IDisposable
{
    private const string InstallCommand = "sudo apt-get update && sudo apt-get install -y --no-upgrade";

    private readonly string root = Path.Combine(Path.GetTempPath(), "cqrsdapr-apphost-tests", Guid.NewGuid().ToString("N"));

    public PrerequisitesTests()
    {
        Directory.CreateDirectory(Bin);
        Directory.CreateDirectory(PostgresRoot);
        Directory.CreateDirectory(RepositoryRoot);
    }

    /// <summary>The only folder on the PATH the check is given.</summary>
    private string Bin => Path.Combine(root, "bin");

    /// <summary>Stands for /usr/lib/postgresql.</summary>
    private string PostgresRoot => Path.Combine(root, "postgresql");

    private string RepositoryRoot => Path.Combine(root, "repository");

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public void With_PostgreSQL_and_Redis_on_PATH_nothing_is_missing()
    {
        Install(Bin, "postgres", "initdb", "redis-server");

        Assert.Empty(Find());
    }

    [Fact]
    public void PostgreSQL_in_the_Debian_layout_is_found_without_being_on_PATH()
    {
        Install(Path.Combine(PostgresRoot, "15", "bin"), "postgres", "initdb");
        Install(Bin, "redis-server");

        Assert.Empty(Find());
    }

    [Fact]
    public void A_postgres_without_initdb_beside_it_is_not_a_server_installation()
    {
        Install(Bin, "postgres", "redis-server");
        Install(Path.Combine(PostgresRoot, "16", "bin"), "postgres");

        Assert.Equal(["postgresql"], Find().Select(m => m.Package));
    }

    [Fact]
    public void Without_both_servers_one_message_names_both_with_one_install_command()
    {
        var missing = Find();

        Assert.Equal(["postgresql", "redis-server"], missing.Select(m => m.Package));
        var message = Prerequisites.Message(missing);
        Assert.StartsWith("The AppHost cannot start, missing: PostgreSQL server binaries (postgres, initdb), redis-server.", message, StringComparison.Ordinal);
        Assert.Contains($"{InstallCommand} postgresql redis-server (other systems: see Prerequisites in README.md).", message, StringComparison.Ordinal);
        Assert.Equal(1, Occurrences(message, "apt-get install"));
        Assert.DoesNotContain('\n', message);
    }

    [Fact]
    public void The_local_Cosmos_stand_in_needs_node_and_npm_and_then_its_packages()
    {
        Install(Bin, "postgres", "initdb", "redis-server");

        var missing = Find("--view-store", "cosmos");

        Assert.Equal(["nodejs", "npm", null], missing.Select(m => m.Package));
        var message = Prerequisites.Message(missing);
        Assert.Contains($"{InstallCommand} nodejs npm ", message, StringComparison.Ordinal);
        Assert.Contains("Then run it again: its build runs npm ci in tests/cosmosdb-server", message, StringComparison.Ordinal);
    }

    [Fact]
    public void With_node_and_npm_only_the_stand_ins_packages_are_missing_and_no_package_is_named()
    {
        Install(Bin, "postgres", "initdb", "redis-server", "node", "npm");

        var missing = Find("--CqrsDapr:ViewStore=cosmos");

        Assert.Equal([null], missing.Select(m => m.Package));
        var message = Prerequisites.Message(missing);
        Assert.DoesNotContain("apt-get", message, StringComparison.Ordinal);
        Assert.Contains("Run it again: its build runs npm ci in tests/cosmosdb-server when npm is installed (or by hand: npm ci --prefix tests/cosmosdb-server).", message, StringComparison.Ordinal);
    }

    [Fact]
    public void With_the_stand_in_installed_npm_is_not_needed()
    {
        Install(Bin, "postgres", "initdb", "redis-server", "node");
        Directory.CreateDirectory(Path.Combine(RepositoryRoot, "tests", "cosmosdb-server", "node_modules", "@vercel", "cosmosdb-server"));

        Assert.Empty(Find("--view-store", "cosmos"));
    }

    [Fact]
    public void With_a_Cosmos_account_neither_node_nor_the_stand_in_is_needed()
    {
        Install(Bin, "postgres", "initdb", "redis-server");

        Assert.Empty(Find("--view-store", "cosmos", "--CqrsDapr:Cosmos:Endpoint=https://acct.documents.azure.com:443/"));
    }

    [Fact]
    public async Task The_AppHost_without_redis_server_on_PATH_stops_at_once_with_the_message_and_exit_code_1()
    {
        // The real AppHost with a PATH of one empty folder: no redis-server (PostgreSQL's binaries may still be found in
        // /usr/lib/postgresql). It must stop before starting anything, with the one message on stderr.
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
            ? host
            : Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..", "dotnet"));
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = root,
        };
        start.ArgumentList.Add(typeof(Prerequisites).Assembly.Location);
        start.ArgumentList.Add($"--CqrsDapr:DataDirectory={Path.Combine(root, "data")}");
        start.Environment["PATH"] = Bin;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(1));

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var error = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        var message = (await error).Trim();
        Assert.True(process.ExitCode == 1, $"exit code {process.ExitCode}\nstdout: {await output}\nstderr: {message}");
        Assert.StartsWith("The AppHost cannot start, missing: ", message, StringComparison.Ordinal);
        Assert.Contains("redis-server.", message, StringComparison.Ordinal);
        Assert.Matches($@"{Regex.Escape(InstallCommand)} (postgresql )?redis-server \(", message);
        Assert.Equal(1, Occurrences(message, "apt-get install"));
        Assert.DoesNotContain('\n', message);
        Assert.False(Directory.Exists(Path.Combine(root, "data")), "nothing was started: no data directory");
    }

    private IReadOnlyList<MissingPrerequisite> Find(params string[] args) =>
        Prerequisites.Find(new ConfigurationBuilder().AddCommandLine(args).Build(), RepositoryRoot, Bin, PostgresRoot);

    private static int Occurrences(string text, string part) => text.Split(part).Length - 1;

    private static void Install(string directory, params string[] programs)
    {
        Directory.CreateDirectory(directory);
        foreach (var program in programs)
        {
            var path = Path.Combine(directory, program);
            File.WriteAllText(path, "#!/bin/sh\nexit 1\n");
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
    }
}
