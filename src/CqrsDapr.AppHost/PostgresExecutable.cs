using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace CqrsDapr.AppHost;

/// <summary>
/// PostgreSQL as an executable resource: <c>initdb</c> and the application database on first start (data kept under
/// <c>dataRoot/name</c>), the server on the endpoint's port, healthy once the application database accepts connections.
/// </summary>
internal static class PostgresExecutable
{
    /// <summary>
    /// PostgreSQL's default (100) was what one Npgsql pool could open by itself (Npgsql's default Maximum Pool Size,
    /// 100; the command service now sets 40), before the relay's LISTEN connection, the sidecar's state-store pool,
    /// health checks and a psql session: under load the server refused the command service ("53300: too many clients
    /// already", a 500). 200 leaves room for a second replica's pool beside them.
    /// </summary>
    internal const int MaxConnections = 200;

    public static IResourceBuilder<PostgresServerResource> AddPostgresExecutable(
        this IDistributedApplicationBuilder builder, string name, string database, string dataRoot, int? port)
    {
        var binDirectory = ServerBinaries.PostgresBinDirectory();
        var dataDirectory = Path.Combine(dataRoot, name);
        var (command, prefix) = ServerBinaries.AsPostgresUser(Path.Combine(binDirectory, "postgres"));
        var server = builder.AddResource(new PostgresServerResource(name, command, Path.GetTempPath(), database));

        var healthCheck = $"{name}-accepts-connections";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            healthCheck, _ => new PostgresHealthCheck(server.Resource), failureStatus: null, tags: null));

        builder.Eventing.Subscribe<BeforeResourceStartedEvent>(server.Resource, (_, cancellationToken) =>
        {
            RemoveStaleLockFile(dataDirectory);
            return InitializeAsync(binDirectory, dataDirectory, database, cancellationToken);
        });

        return server
            .WithEndpoint(name: PostgresServerResource.EndpointName, scheme: "tcp", port: port)
            .WithArgs(context =>
            {
                foreach (var argument in prefix)
                {
                    context.Args.Add(argument);
                }

                context.Args.Add("-D");
                context.Args.Add(dataDirectory);
                context.Args.Add("-p");
                context.Args.Add(server.Resource.Endpoint.Property(EndpointProperty.TargetPort));
                context.Args.Add("-c");
                context.Args.Add("listen_addresses=localhost");
                context.Args.Add("-c");
                context.Args.Add("unix_socket_directories="); // TCP only: no socket folder to own.
                context.Args.Add("-c");
                context.Args.Add($"max_connections={MaxConnections}");
            })
            .WithHealthCheck(healthCheck);
    }

    /// <summary>
    /// A killed server leaves its lock file naming its process id. Killed with its launcher (<c>runuser</c>), that
    /// process stays a zombie until whoever inherits it reaps it, and on some machines that is late: PostgreSQL then
    /// takes the id for a running server and refuses to start ("lock file postmaster.pid already exists ... Is another
    /// postmaster running"), so a restart right after a crash failed. A lock file whose process is gone or a zombie is
    /// removed; one naming a live process is left for PostgreSQL to judge.
    /// </summary>
    internal static bool RemoveStaleLockFile(string dataDirectory)
    {
        var lockFile = Path.Combine(dataDirectory, "postmaster.pid");
        if (!File.Exists(lockFile)
            || !int.TryParse(File.ReadLines(lockFile).FirstOrDefault(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid)
            || !OperatingSystem.IsLinux())
        {
            return false;
        }

        var gone = ProcessStat.Read(pid) is not { IsZombie: false };
        if (gone)
        {
            File.Delete(lockFile);
        }

        return gone;
    }

    private static async Task InitializeAsync(string binDirectory, string dataDirectory, string database, CancellationToken cancellationToken)
    {
        if (File.Exists(Path.Combine(dataDirectory, "PG_VERSION")))
        {
            return;
        }

        // Built beside the data directory and moved into place when complete: a failed first start leaves no
        // half-made data directory for the next start to trust.
        var building = dataDirectory + ".initializing";
        if (Directory.Exists(building))
        {
            Directory.Delete(building, recursive: true);
        }

        Directory.CreateDirectory(building);
        await ServerBinaries.ChownToPostgresUserAsync(building, cancellationToken);
        await ServerBinaries.RunAsPostgresUserAsync(
            Path.Combine(binDirectory, "initdb"),
            ["-D", building, "-U", ServerBinaries.PostgresUser, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-instructions"],
            standardInput: null,
            cancellationToken);

        // The application database, created in single-user mode: no server (or port) is needed yet.
        await ServerBinaries.RunAsPostgresUserAsync(
            Path.Combine(binDirectory, "postgres"),
            ["--single", "-D", building, "-c", "unix_socket_directories=", "postgres"],
            standardInput: $"CREATE DATABASE {database};\n",
            cancellationToken);

        if (Directory.Exists(dataDirectory))
        {
            if (Directory.EnumerateFileSystemEntries(dataDirectory).Any())
            {
                throw new InvalidOperationException(
                    $"{dataDirectory} is not empty and not a PostgreSQL data directory (no PG_VERSION): move or delete it.");
            }

            Directory.Delete(dataDirectory);
        }

        Directory.Move(building, dataDirectory);
    }

    private sealed class PostgresHealthCheck(PostgresServerResource server) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var connectionString = new NpgsqlConnectionStringBuilder
                {
                    Host = server.Endpoint.Host,
                    Port = server.Endpoint.Port,
                    Username = ServerBinaries.PostgresUser,
                    Database = server.Database,
                    Pooling = false,
                    Timeout = 2,
                }.ConnectionString;
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync(cancellationToken);
                await using var command = new NpgsqlCommand("SELECT 1", connection);
                await command.ExecuteScalarAsync(cancellationToken);
                return HealthCheckResult.Healthy();
            }
            catch (Exception exception) when (exception is NpgsqlException or InvalidOperationException or TimeoutException)
            {
                return HealthCheckResult.Unhealthy($"{server.Name} does not accept connections yet.", exception);
            }
        }
    }
}
