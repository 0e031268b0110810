using YamlDotNet.RepresentationModel;

namespace CqrsDapr.AppHost.Tests;

/// <summary>
/// The Dapr Configuration the AppHost writes for its daprd sidecars: tracing of every span to the dashboard's OTLP
/// endpoint (schema: docs.dapr.io/reference/resource-specs/configuration-schema) and name resolution of its own.
/// </summary>
public sealed class DaprConfigurationFileTests : IDisposable
{
    private readonly TestDirectories directories = new TestDirectories().Install("daprd", "placement", "scheduler");

    public void Dispose() => directories.Dispose();

    private async Task<YamlMappingNode> SpecAsync(params string[] args)
    {
        await using (await AppHostModel.BuildAsync(directories.Args(args)))
        {
        }

        var yaml = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(directories.Data, "dapr", "config.yaml")))
        {
            yaml.Load(reader);
        }

        var root = (YamlMappingNode)yaml.Documents.Single().RootNode;
        Assert.Equal("dapr.io/v1alpha1", Scalar(root, "apiVersion"));
        Assert.Equal("Configuration", Scalar(root, "kind"));
        return (YamlMappingNode)root["spec"];
    }

    private static string? Scalar(YamlMappingNode node, string key) => ((YamlScalarNode)node[key]).Value;

    private static YamlMappingNode Map(YamlMappingNode node, params string[] path) =>
        path.Aggregate(node, (current, key) => (YamlMappingNode)current[key]);

    [Theory]
    [InlineData("ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL=http://localhost:19080", "localhost:19080", "false", "grpc")]
    [InlineData("ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL=https://127.0.0.1:21001", "127.0.0.1:21001", "true", "grpc")]
    [InlineData("ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL=http://localhost:19081", "localhost:19081", "false", "http")]
    public async Task Every_span_goes_to_the_dashboards_otlp_endpoint(string setting, string address, string isSecure, string protocol)
    {
        // Only the endpoint under test: the testing builder provides a gRPC one of its own.
        var spec = await SpecAsync("--ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL=", "--ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL=", "--" + setting);

        var tracing = Map(spec, "tracing");
        var samplingRate = (YamlScalarNode)tracing["samplingRate"];
        Assert.Equal("1", samplingRate.Value);
        Assert.NotEqual(YamlDotNet.Core.ScalarStyle.Plain, samplingRate.Style); // a string, as the schema types it
        var otel = Map(tracing, "otel");
        Assert.Equal(address, Scalar(otel, "endpointAddress"));
        Assert.Equal(isSecure, Scalar(otel, "isSecure"));
        Assert.Equal(protocol, Scalar(otel, "protocol"));
    }

    [Fact]
    public async Task Without_a_dashboard_endpoint_there_is_no_tracing_section()
    {
        var spec = await SpecAsync("--ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL=", "--ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL=");

        Assert.False(spec.Children.ContainsKey(new YamlScalarNode("tracing")));
        Assert.Equal("sqlite", Scalar(Map(spec, "nameResolution"), "component"));
    }

    [Fact]
    public async Task Names_resolve_in_a_sqlite_file_of_this_data_directory()
    {
        var spec = await SpecAsync("--ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL=http://localhost:19080");

        var nameResolution = Map(spec, "nameResolution");
        Assert.Equal("sqlite", Scalar(nameResolution, "component"));
        Assert.Equal("v1", Scalar(nameResolution, "version"));
        Assert.Equal(Path.Combine(directories.Data, "dapr", "name-resolution.db"), Scalar(Map(nameResolution, "configuration"), "connectionString"));
    }
}
