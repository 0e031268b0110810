using Microsoft.Extensions.Configuration;

namespace CqrsDapr.AppHost;

/// <summary>
/// What the AppHost runs from the machine, looked for at start before any resource is added: PostgreSQL's server
/// binaries and redis-server always; Node.js and the stand-in's npm packages when it runs the local Cosmos DB stand-in
/// (<see cref="CosmosViewStore.RunsStandIn"/>). When any is missing, Program prints <see cref="Message"/>, one message
/// naming every missing one and the Debian packages to install, and exits with 1 (instead of an exception about the
/// first one). Looked for where the resources look for them (<see cref="ServerBinaries"/>, <see cref="CosmosViewStore"/>).
/// </summary>
internal static class Prerequisites
{
    /// <summary>What installs Debian packages, as README.md's prerequisite line does (with the packages after it).</summary>
    public const string InstallCommand = "sudo apt-get update && sudo apt-get install -y --no-upgrade";

    /// <summary>What is missing on this machine (empty when nothing is): the process's PATH, Debian's PostgreSQL folder.</summary>
    public static IReadOnlyList<MissingPrerequisite> Find(IConfiguration configuration, string repositoryRoot) =>
        Find(configuration, repositoryRoot, ServerBinaries.SearchPath, ServerBinaries.DebianPostgresRoot);

    /// <summary>What is missing with programs looked for on <paramref name="path"/> and PostgreSQL also in <paramref name="postgresRoot"/><c>/*/bin</c>.</summary>
    public static IReadOnlyList<MissingPrerequisite> Find(IConfiguration configuration, string repositoryRoot, string path, string postgresRoot)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        List<MissingPrerequisite> missing = [];
        if (ServerBinaries.FindPostgresBinDirectory(path, postgresRoot) is null)
        {
            missing.Add(new("PostgreSQL server binaries (postgres, initdb)", "postgresql"));
        }

        if (ServerBinaries.FindOnPath("redis-server", path) is null)
        {
            missing.Add(new("redis-server", "redis-server"));
        }

        if (CosmosViewStore.RunsStandIn(configuration))
        {
            if (ServerBinaries.FindOnPath("node", path) is null)
            {
                missing.Add(new("node (the Cosmos DB stand-in runs on it)", "nodejs"));
            }

            if (!CosmosViewStore.IsStandInInstalled(repositoryRoot))
            {
                if (ServerBinaries.FindOnPath("npm", path) is null)
                {
                    missing.Add(new("npm (it installs the Cosmos DB stand-in)", "npm"));
                }

                missing.Add(new("the Cosmos DB stand-in's npm packages (tests/cosmosdb-server/node_modules)", Package: null));
            }
        }

        return missing;
    }

    /// <summary>One message: what is missing, the command that installs the packages, and what else to do.</summary>
    public static string Message(IReadOnlyList<MissingPrerequisite> missing)
    {
        ArgumentNullException.ThrowIfNull(missing);
        var message = $"The AppHost cannot start, missing: {string.Join(", ", missing.Select(m => m.What))}.";
        var packages = missing.Select(m => m.Package).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        if (packages.Count > 0)
        {
            message += $" Install them with: {InstallCommand} {string.Join(' ', packages)}" +
                " (other systems: see Prerequisites in README.md).";
        }

        if (missing.Any(m => m.Package is null))
        {
            message += $" {(packages.Count > 0 ? "Then run" : "Run")} it again: its build runs npm ci in tests/cosmosdb-server " +
                "when npm is installed (or by hand: npm ci --prefix tests/cosmosdb-server).";
        }

        return message;
    }
}

/// <summary>A missing prerequisite and the Debian package that installs it (null when no package does).</summary>
internal sealed record MissingPrerequisite(string What, string? Package);
