using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace CqrsDapr.CommandService.Persistence;

internal static class PersistenceModule
{
    /// <summary>Connection string name (Aspire resource name and <c>ConnectionStrings:writedb</c>).</summary>
    public const string ConnectionName = "writedb";

    public static IServiceCollection AddWriteDatabase(this IServiceCollection services, IConfiguration configuration)
    {
        var connectionString = configuration.GetConnectionString(ConnectionName)
            ?? throw new InvalidOperationException($"ConnectionStrings:{ConnectionName} is not configured.");
        services.AddPooledDbContextFactory<WriteDbContext>(options => Configure(options, connectionString));
        return services;
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
