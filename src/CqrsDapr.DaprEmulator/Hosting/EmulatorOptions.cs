namespace CqrsDapr.DaprEmulator.Hosting;

/// <summary>The sidecar's settings, taken from daprd-style flags and environment variables.</summary>
internal sealed record EmulatorOptions
{
    public string AppId { get; init; } = "";

    public int? AppPort { get; init; }

    public string AppProtocol { get; init; } = "http";

    public string AppChannelAddress { get; init; } = "127.0.0.1";

    public int HttpPort { get; init; } = 3500;

    public int GrpcPort { get; init; } = 50001;

    public IReadOnlyList<string> ListenAddresses { get; init; } = ["127.0.0.1"];

    public IReadOnlyList<string> ResourcesPaths { get; init; } = [];

    public string? ConfigPath { get; init; }

    public string LogLevel { get; init; } = "info";

    public bool LogAsJson { get; init; }

    public bool EnableApiLogging { get; init; }

    /// <summary>Token the app must present on every call to the sidecar (<c>DAPR_API_TOKEN</c>).</summary>
    public string? ApiToken { get; init; }

    /// <summary>Token the sidecar presents to the app on every call (<c>APP_API_TOKEN</c>).</summary>
    public string? AppApiToken { get; init; }

    /// <summary><c>--app-max-concurrency</c>: -1 means unlimited, as in daprd.</summary>
    public int AppMaxConcurrency { get; init; } = -1;

    public string Namespace { get; init; } = "";

    /// <summary>Flags daprd knows that the emulator accepts and ignores; reported once at start.</summary>
    public IReadOnlyList<string> IgnoredFlags { get; init; } = [];
}
