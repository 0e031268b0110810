using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace CqrsDapr.AppHost;

/// <summary>
/// The Dapr <c>Configuration</c> (https://docs.dapr.io/reference/resource-specs/configuration-schema/) every daprd
/// sidecar of this AppHost reads (<c>--config</c>), written into its data directory at each start because the
/// dashboard's OTLP endpoint is known only then:
/// <list type="bullet">
/// <item>tracing, every span (<c>samplingRate "1"</c>; in the production profile the Helm chart's rate, see
/// <see cref="RunProfile"/>), to the dashboard's OTLP endpoint, so daprd's spans join the
/// services' traces (the dashboard's API key reaches daprd's OpenTelemetry exporter through the standard
/// <c>OTEL_EXPORTER_OTLP_HEADERS</c>, which the sidecar resource sets);</item>
/// <item>name resolution in a SQLite file of this data directory instead of mDNS, so the sidecars of two AppHosts on
/// one machine never resolve each other's app-ids (what the emulators' app registry does for them).</item>
/// </list>
/// </summary>
internal static class DaprConfigurationFile
{
    public const string FileName = "config.yaml";
    public const string NameResolutionFileName = "name-resolution.db";

    /// <summary>The AppHost's setting with the dashboard's OTLP/gRPC endpoint (its launch profile sets it).</summary>
    public const string OtlpGrpcEndpointKey = "ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL";

    /// <summary>The same over OTLP/HTTP, used when there is no gRPC endpoint.</summary>
    public const string OtlpHttpEndpointKey = "ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL";

    /// <summary>Writes <c>config.yaml</c> into <paramref name="directory"/>, tracing at <paramref name="samplingRate"/>; returns its path.</summary>
    public static string Write(string directory, IConfiguration configuration, string samplingRate = "1")
    {
        ArgumentNullException.ThrowIfNull(configuration);
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, FileName);
        File.WriteAllText(path, Yaml(Path.Combine(directory, NameResolutionFileName), Tracing(configuration, samplingRate)));
        return path;
    }

    private static string? Tracing(IConfiguration configuration, string samplingRate)
    {
        var (endpoint, protocol) = configuration[OtlpGrpcEndpointKey] is { Length: > 0 } grpc ? (grpc, "grpc")
            : configuration[OtlpHttpEndpointKey] is { Length: > 0 } http ? (http, "http")
            : (null, null);
        if (endpoint is null)
        {
            return null; // no dashboard to send spans to: daprd's default, no tracing
        }

        var uri = new Uri(endpoint);
        return $"""
              tracing:
                samplingRate: {Quote(samplingRate)}
                otel:
                  endpointAddress: {Quote($"{uri.Host}:{uri.Port}")}
                  isSecure: {(uri.Scheme == Uri.UriSchemeHttps ? "true" : "false")}
                  protocol: {protocol}

            """;
    }

    private static string Yaml(string nameResolutionDatabase, string? tracing) => $"""
        # Written by the AppHost at each start: the Configuration its daprd sidecars read (--config).
        apiVersion: dapr.io/v1alpha1
        kind: Configuration
        metadata:
          name: cqrsdapr-apphost
        spec:
        {tracing}  nameResolution:
            component: sqlite
            version: v1
            configuration:
              connectionString: {Quote(nameResolutionDatabase)}

        """;

    /// <summary>A YAML double-quoted scalar (a JSON string is one).</summary>
    private static string Quote(string value) => JsonSerializer.Serialize(value);
}
