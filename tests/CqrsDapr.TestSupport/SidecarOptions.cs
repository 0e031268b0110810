namespace CqrsDapr.TestSupport;

/// <summary>What <see cref="Sidecar.StartAsync"/> starts: daprd flags and environment.</summary>
public sealed class SidecarOptions
{
    /// <summary><c>--app-id</c>.</summary>
    public required string AppId { get; init; }

    /// <summary><c>--app-port</c> (with <c>--app-protocol http</c>); null for a sidecar without an app channel.</summary>
    public int? AppPort { get; init; }

    /// <summary><c>--resources-path</c>, repeated once per directory.</summary>
    public IList<string> ResourcesPaths { get; init; } = [];

    /// <summary><c>--config</c>: a Configuration resource file.</summary>
    public string? ConfigPath { get; init; }

    /// <summary>Passed as <c>DAPR_API_TOKEN</c> (the API clients must present it).</summary>
    public string? ApiToken { get; init; }

    /// <summary>Passed as <c>APP_API_TOKEN</c> (the sidecar presents it to the app).</summary>
    public string? AppApiToken { get; init; }

    /// <summary><c>--log-level</c>.</summary>
    public string LogLevel { get; init; } = "info";

    /// <summary>Extra environment variables for the sidecar process.</summary>
    public IDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);
}
