using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace CqrsDapr.CommandService.Persistence;

/// <summary>
/// Applies the checked-in EF Core migrations: <c>dotnet CqrsDapr.CommandService.dll migrate</c> (what the Helm hook job
/// runs) or <c>Persistence:MigrateOnStartup=true</c> for local runs. Never <c>EnsureCreated</c>.
/// </summary>
internal static partial class WriteDatabaseMigrations
{
    public const string Command = "migrate";

    public static async Task ApplyAsync(IServiceProvider services, CancellationToken cancellationToken = default)
    {
        var factory = services.GetRequiredService<IDbContextFactory<WriteDbContext>>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(WriteDatabaseMigrations).FullName!);
        await using var db = await factory.CreateDbContextAsync(cancellationToken);
        // On a new database there is no history table yet, and reading it (here, and in MigrateAsync) fails, which
        // EF Core logs as an error on every first deployment: create the (empty) table first.
        await db.GetService<IHistoryRepository>().CreateIfNotExistsAsync(cancellationToken);
        var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
        LogPending(logger, pending.Count, pending); // the formatter lists an enumerable comma-separated

        await db.Database.MigrateAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Applying {Count} pending write-database migration(s): {Migrations}")]
    private static partial void LogPending(ILogger logger, int count, IReadOnlyList<string> migrations);
}
