using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Npgsql;

namespace CqrsDapr.CommandService.Persistence;

internal static class PersistenceModule
{
    /// <summary>Connection string name (Aspire resource name and <c>ConnectionStrings:writedb</c>).</summary>
    public const string ConnectionName = "writedb";

    public static IServiceCollection AddWriteDatabase(this IServiceCollection services, IConfiguration configuration)
    {
        var connectionString = configuration.GetConnectionString(ConnectionName)
            ?? throw new InvalidOperationException($"ConnectionStrings:{ConnectionName} is not configured.");
        if (configuration.GetValue("Persistence:AutoPrepareStatements", defaultValue: true))
        {
            connectionString = WithAutoPrepare(connectionString);
        }

        connectionString = WithPoolLimit(connectionString);
        services.AddPooledDbContextFactory<WriteDbContext>(options => Configure(options, connectionString));
        return services;
    }

    /// <summary>
    /// <c>Maximum Pool Size</c> of this process's connections to the write database when the connection string does not
    /// set it (Npgsql's own default, 100, is what PostgreSQL's default <c>max_connections</c> allows in all). Sized by
    /// what can hold a connection at once: the sidecar runs at most <c>commandService.dapr.appMaxConcurrency</c> (32)
    /// actor turns in this app, each one transaction on one connection (the event log's reads reach the app through the
    /// sidecar too, within those 32); beside them 8 for the rest: idempotency look-ups of commands not yet at their turn
    /// (one statement each), the outbox relay's batch, its health check and the two retention sweeps. The relay's
    /// LISTEN connection is not pooled. Past 40 an opener queues in Npgsql (up to the string's <c>Timeout</c>, 15 s)
    /// rather than being refused by PostgreSQL. The server must allow every replica 41 (with LISTEN) plus its sidecar's
    /// actor-store pool and the migration job: the AppHost's writedb allows 200 for its one replica
    /// (<c>PostgresExecutable.MaxConnections</c>); the chart's values.yaml gives the sum for a cluster.
    /// </summary>
    public const int DefaultMaxPoolSize = 40;

    /// <summary>The connection string with <see cref="DefaultMaxPoolSize"/> unless it sets <c>Maximum Pool Size</c> itself.</summary>
    public static string WithPoolLimit(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        // The builder reports every keyword it knows as present; its own string holds only those that were given.
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = builder.ConnectionString };
        if (!given.ContainsKey("Maximum Pool Size"))
        {
            builder.MaxPoolSize = Math.Max(DefaultMaxPoolSize, builder.MinPoolSize);
        }

        return builder.ConnectionString;
    }

    /// <summary>
    /// The write path runs the same handful of statements all day, so Npgsql prepares them after their second use
    /// (measured by the command-service benchmark: ~15% more creates per second on the same machine). A connection
    /// string that sets <c>Max Auto Prepare</c> itself keeps its value; <c>Persistence:AutoPrepareStatements=false</c>
    /// turns this off (for example behind a pooler that cannot keep prepared statements).
    /// </summary>
    public static string WithAutoPrepare(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (builder.MaxAutoPrepare == 0)
        {
            builder.MaxAutoPrepare = 64;
            builder.AutoPrepareMinUsages = 2;
        }

        return builder.ConnectionString;
    }

    public static void Configure(DbContextOptionsBuilder options, string connectionString) =>
        options.UseNpgsql(connectionString, npgsql => npgsql.MigrationsHistoryTable("__ef_migrations_history"))
            .UseSnakeCaseNamingConvention();
}

/// <summary>Lets <c>dotnet ef</c> build the model without starting the service.</summary>
internal sealed class DesignTimeWriteDbContextFactory : IDesignTimeDbContextFactory<WriteDbContext>
{
    public WriteDbContext CreateDbContext(string[] args)
    {
        var options = new DbContextOptionsBuilder<WriteDbContext>();
        PersistenceModule.Configure(options, "Host=localhost;Database=cqrsdapr_write");
        return new WriteDbContext(options.Options);
    }
}
