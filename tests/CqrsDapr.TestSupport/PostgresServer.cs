using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Npgsql;

namespace CqrsDapr.TestSupport;

/// <summary>
/// A throwaway PostgreSQL server (own data directory, free port, trust auth, durability off) run as a child process,
/// or the server named by the <c>CQRSDAPR_TEST_POSTGRES</c> connection string when that variable is set.
/// </summary>
public sealed partial class PostgresServer : IAsyncDisposable
{
    /// <summary>Environment variable with a connection string of an existing server to use instead of starting one.</summary>
    public const string ExternalServerVariable = "CQRSDAPR_TEST_POSTGRES";

    private const string InstallHint = "apt-get install -y --no-upgrade postgresql";
    private const string ServiceUser = "postgres";

    private readonly ServerProcess? server;
    private readonly TempDirectory? directory;
    private readonly string? externalConnectionString;

    private PostgresServer(string host, int port, string connectionString)
    {
        Host = host;
        Port = port;
        externalConnectionString = connectionString;
    }

    private PostgresServer(string binDirectory, TempDirectory directory)
    {
        Host = "127.0.0.1";
        this.directory = directory;
        var dataDirectory = Path.Combine(directory.Path, "data");
        var socketDirectory = Path.Combine(directory.Path, "sock");
        server = new ServerProcess(
            "postgres",
            pickPorts: () => Port = FreePort.Next(),
            launch: () => ChildProcess.Start(
                $"postgres :{Port}",
                Executables.Command(
                    Path.Combine(binDirectory, "postgres"),
                    "-D", dataDirectory,
                    "-p", Port.ToString(CultureInfo.InvariantCulture),
                    "-k", socketDirectory,
                    "-c", "listen_addresses=127.0.0.1",
                    "-c", "fsync=off",
                    "-c", "synchronous_commit=off",
                    "-c", "full_page_writes=off",
                    // One server serves a whole test assembly, each test its own database, and every database's pool
                    // keeps its idle connections until the process ends: 100 (the default) runs out.
                    "-c", "max_connections=300"),
                ServiceUser,
                abortSignal: PosixSignal.SIGQUIT), // "Immediate" shutdown: no checkpoint, crash recovery on the next start.
            probe: ProbeAsync,
            stopSignal: PosixSignal.SIGINT); // "Fast" shutdown: disconnects clients instead of waiting for them.
    }

    /// <summary>Always 127.0.0.1 for a started server; the external server's host otherwise.</summary>
    public string Host { get; }

    /// <summary>The TCP port (kept across <see cref="RestartAsync"/>).</summary>
    public int Port { get; private set; }

    /// <summary>Connection string to database <c>postgres</c> as user <c>postgres</c> (trust auth, pooling on).</summary>
    public string ConnectionString => externalConnectionString ?? ConnectionStringFor("postgres");

    /// <summary>True when this instance points at an existing server from <see cref="ExternalServerVariable"/>.</summary>
    public bool IsExternal => server is null;

    /// <summary>The server's captured output (empty for an external server).</summary>
    public IReadOnlyList<string> Logs => server?.Logs ?? [];

    /// <summary>Starts a new server (initdb + postgres), or wraps the external one. Ready to accept connections on return.</summary>
    public static async Task<PostgresServer> StartAsync(CancellationToken cancellationToken = default)
    {
        var external = Environment.GetEnvironmentVariable(ExternalServerVariable);
        if (!string.IsNullOrWhiteSpace(external))
        {
            var builder = new NpgsqlConnectionStringBuilder(external);
            return new PostgresServer(builder.Host ?? "localhost", builder.Port, external);
        }

        var binDirectory = FindBinDirectory();
        var directory = TempDirectory.Create();
        var instance = new PostgresServer(binDirectory, directory);
        try
        {
            await instance.InitializeDataDirectoryAsync(binDirectory, cancellationToken);
            await instance.server!.StartAsync(cancellationToken);
            return instance;
        }
        catch
        {
            await instance.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Creates database <paramref name="name"/> (dropping one of that name first) and returns its connection string.
    /// Names are limited to letters, digits and underscores.
    /// </summary>
    public async Task<string> CreateDatabaseAsync(string name, CancellationToken cancellationToken = default)
    {
        if (!DatabaseName().IsMatch(name))
        {
            throw new ArgumentException($"'{name}' is not a plain database name ([A-Za-z_][A-Za-z0-9_]{{0,62}}).", nameof(name));
        }

        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await ExecuteFormattedAsync(connection, "DROP DATABASE IF EXISTS %I WITH (FORCE)", name, cancellationToken);
        await ExecuteFormattedAsync(connection, "CREATE DATABASE %I", name, cancellationToken);
        return ConnectionStringFor(name);
    }

    /// <summary>
    /// Crashes the server: SIGQUIT ("immediate" shutdown: connections are cut, no checkpoint is written, the next start
    /// runs crash recovery), SIGKILL of the process tree if it lingers. The data directory is kept.
    /// </summary>
    public Task StopAsync() => Managed().KillAsync();

    /// <summary>Starts the server again on the same port and data directory (after crash recovery); kills it first if running.</summary>
    public Task RestartAsync(CancellationToken cancellationToken = default) => Managed().RestartAsync(cancellationToken);

    /// <summary>Shuts the server down and deletes its data directory. Does nothing for an external server.</summary>
    public async ValueTask DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }

        directory?.Dispose();
    }

    private ServerProcess Managed() => server ?? throw new NotSupportedException(
        $"Stopping or restarting an external PostgreSQL server ({ExternalServerVariable}) is not supported.");

    private string ConnectionStringFor(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = Host,
        Port = Port,
        Username = ServiceUser,
        Database = database,
        Pooling = true,
    }.ConnectionString;

    private async Task InitializeDataDirectoryAsync(string binDirectory, CancellationToken cancellationToken)
    {
        var dataDirectory = directory!.Sub("data");
        directory.Sub("sock");
        if (NativeMethods.IsRoot)
        {
            // PostgreSQL refuses to run as root: the server runs as the postgres user, which must own its directories.
            await ChildProcess.RunAsync(
                "chown",
                Executables.Command("chown", "-R", $"{ServiceUser}:{ServiceUser}", dataDirectory, Path.Combine(directory.Path, "sock")),
                TimeSpan.FromSeconds(30),
                cancellationToken: cancellationToken);
        }

        await ChildProcess.RunAsync(
            "initdb",
            Executables.Command(
                Path.Combine(binDirectory, "initdb"),
                "-D", dataDirectory,
                "-U", ServiceUser,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions"),
            TimeSpan.FromSeconds(120),
            ServiceUser,
            cancellationToken);
    }

    private async Task<bool> ProbeAsync(CancellationToken cancellationToken)
    {
        var probe = new NpgsqlConnectionStringBuilder(ConnectionStringFor("postgres")) { Pooling = false, Timeout = 2 };
        await using var connection = new NpgsqlConnection(probe.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT 1", connection);
        return await command.ExecuteScalarAsync(cancellationToken) is 1;
    }

    private static async Task ExecuteFormattedAsync(
        NpgsqlConnection connection, string template, string identifier, CancellationToken cancellationToken)
    {
        // Utility statements take no parameters: let the server quote the identifier, then run the result.
        await using var format = new NpgsqlCommand("SELECT format(@template, @identifier)", connection);
        format.Parameters.AddWithValue("template", template);
        format.Parameters.AddWithValue("identifier", identifier);
        var statement = (string)(await format.ExecuteScalarAsync(cancellationToken))!;
        await using var command = new NpgsqlCommand(statement, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static string FindBinDirectory()
    {
        static bool HasServer(string directory) =>
            Executables.IsExecutableFile(Path.Combine(directory, "postgres"))
            && Executables.IsExecutableFile(Path.Combine(directory, "initdb"));

        const string debianRoot = "/usr/lib/postgresql";
        if (Directory.Exists(debianRoot))
        {
            var newest = Directory.EnumerateDirectories(debianRoot)
                .Select(version => (Version: int.TryParse(Path.GetFileName(version), CultureInfo.InvariantCulture, out var v) ? v : -1,
                    Bin: Path.Combine(version, "bin")))
                .Where(candidate => HasServer(candidate.Bin))
                .OrderByDescending(candidate => candidate.Version)
                .Select(candidate => candidate.Bin)
                .FirstOrDefault();
            if (newest is not null)
            {
                return newest;
            }
        }

        if (Executables.FindOnPath("postgres") is { } onPath && Path.GetDirectoryName(onPath) is { } directory && HasServer(directory))
        {
            return directory;
        }

        throw new InvalidOperationException(
            $"PostgreSQL server binaries (postgres, initdb) were not found in /usr/lib/postgresql/*/bin or on PATH. Install them: {InstallHint} " +
            $"(or set {ExternalServerVariable} to the connection string of an existing server).");
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,62}$")]
    private static partial Regex DatabaseName();
}
