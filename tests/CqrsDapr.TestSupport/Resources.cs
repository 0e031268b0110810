using System.Text;

namespace CqrsDapr.TestSupport;

/// <summary>
/// Writes Dapr resource YAML (the same files daprd reads) into a throwaway resources folder, for a sidecar's
/// <c>--resources-path</c>.
/// </summary>
public sealed class Resources : IDisposable
{
    private int counter;

    public Resources()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "cqrsdapr-tests", "resources-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    /// <summary>Writes into an existing folder (deleted on dispose like a fresh one).</summary>
    public Resources(string path)
    {
        Path = path;
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public Resources Add(string yaml)
    {
        File.WriteAllText(System.IO.Path.Combine(Path, $"r{Interlocked.Increment(ref counter):D3}.yaml"), yaml, Encoding.UTF8);
        return this;
    }

    /// <param name="initTimeout">The component's <c>initTimeout</c> (a Go duration); null: daprd's default, 5 s.</param>
    public Resources Component(string name, string type, IReadOnlyDictionary<string, string>? metadata = null, string version = "v1", IEnumerable<string>? scopes = null, string? initTimeout = null)
    {
        var yaml = new StringBuilder()
            .AppendLine("apiVersion: dapr.io/v1alpha1")
            .AppendLine("kind: Component")
            .AppendLine("metadata:")
            .AppendLine($"  name: {name}")
            .AppendLine("spec:")
            .AppendLine($"  type: {type}")
            .AppendLine($"  version: {version}");
        if (initTimeout is not null)
        {
            yaml.AppendLine($"  initTimeout: {initTimeout}");
        }

        yaml.AppendLine("  metadata:");
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
        {
            yaml.AppendLine($"  - name: {key}").AppendLine($"    value: \"{value.Replace("\"", "\\\"", StringComparison.Ordinal)}\"");
        }

        if (metadata is null || metadata.Count == 0)
        {
            yaml.Replace("  metadata:" + Environment.NewLine, "  metadata: []" + Environment.NewLine);
        }

        if (scopes is not null)
        {
            yaml.AppendLine("scopes:");
            foreach (var scope in scopes)
            {
                yaml.AppendLine($"- {scope}");
            }
        }

        return Add(yaml.ToString());
    }

    /// <summary>
    /// A <c>state.postgresql</c> v1 component. An Npgsql connection string (what <see cref="PostgresServer"/> hands out) is
    /// rewritten into libpq keyword/value form, the only forms daprd's pgx driver (and so the emulator) accepts.
    /// Its <c>initTimeout</c> is 30 s, as in <c>components/</c>: init connects and creates tables, which took longer
    /// than daprd's default 5 s on a machine busy with the whole test suite.
    /// </summary>
    public Resources PostgresState(string name, string connectionString, bool actorStateStore = false, string? tableName = null, string? keyPrefix = null, IReadOnlyDictionary<string, string>? extra = null)
    {
        var metadata = new Dictionary<string, string> { ["connectionString"] = PostgresConnectionStrings.ToLibpq(connectionString) };
        foreach (var (k, v) in extra ?? new Dictionary<string, string>())
        {
            metadata[k] = v;
        }

        if (actorStateStore)
        {
            metadata["actorStateStore"] = "true";
        }

        if (tableName is not null)
        {
            metadata["tableName"] = tableName;
        }

        if (keyPrefix is not null)
        {
            metadata["keyPrefix"] = keyPrefix;
        }

        return Component(name, "state.postgresql", metadata, initTimeout: "30s");
    }

    public Resources RedisPubSub(string name, string redisHost, IReadOnlyDictionary<string, string>? extra = null)
    {
        var metadata = new Dictionary<string, string> { ["redisHost"] = redisHost, ["redisPassword"] = "" };
        foreach (var (k, v) in extra ?? new Dictionary<string, string>())
        {
            metadata[k] = v;
        }

        return Component(name, "pubsub.redis", metadata);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
