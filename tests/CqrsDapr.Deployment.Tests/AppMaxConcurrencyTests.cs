using System.Globalization;
using System.Text.Json.Nodes;
using CqrsDapr.Contracts;
using CqrsDapr.TestSupport;
using YamlDotNet.RepresentationModel;
using static CqrsDapr.Deployment.Tests.DaprResourceFiles;

namespace CqrsDapr.Deployment.Tests;

/// <summary>
/// How many calls each sidecar makes into its app at once (<c>--app-max-concurrency</c>): one value per service in the
/// chart's values.yaml, rendered as the <c>dapr.io/app-max-concurrency</c> annotation, repeated in <c>dapr.yaml</c>
/// (the AppHost reads values.yaml itself; tests/CqrsDapr.AppHost.Tests checks its sidecars get it).
/// </summary>
public sealed class AppMaxConcurrencyTests
{
    private static readonly Dictionary<string, string> Sections = new(StringComparer.Ordinal)
    {
        [DaprNames.CommandService] = "commandService",
        [DaprNames.QueryService] = "queryService",
    };

    [Fact]
    public async Task Each_service_deployment_carries_its_value_as_the_app_max_concurrency_annotation()
    {
        var rendering = await HelmRenderer.RenderAsync(HelmRenderer.Default);

        foreach (var (app, section) in Sections)
        {
            var value = Value(rendering.Values, section);
            Assert.Equal(value.ToString(CultureInfo.InvariantCulture), Annotation(rendering.OfKind("Deployment"), app));
        }

        Assert.Null(Annotation(rendering.OfKind("Deployment"), "gateway")); // no sidecar calls into the gateway
    }

    [Fact]
    public async Task A_value_set_at_install_reaches_the_annotation()
    {
        var (code, json, error) = await HelmRenderer.RunAsync(
            "--name", HelmRenderer.ReleaseName, "--namespace", HelmRenderer.Namespace, "--json",
            "--set", "commandService.dapr.appMaxConcurrency=5", "--set", "queryService.dapr.appMaxConcurrency=7");

        Assert.True(code == 0, error);
        var deployments = JsonNode.Parse(json)!["documents"]!.AsArray().Select(d => d!["object"]!.AsObject()).Where(o => (string?)o["kind"] == "Deployment").ToList();
        Assert.Equal("5", Annotation(deployments, DaprNames.CommandService));
        Assert.Equal("7", Annotation(deployments, DaprNames.QueryService));
    }

    [Fact]
    public async Task The_multi_app_run_file_runs_each_sidecar_with_the_same_value()
    {
        var rendering = await HelmRenderer.RenderAsync(HelmRenderer.Default);
        var apps = ((YamlSequenceNode)Documents(Path.Combine(RepositoryPaths.Root, "dapr.yaml")).Single().Children[new YamlScalarNode("apps")])
            .Children.Cast<YamlMappingNode>().ToList();

        foreach (var (app, section) in Sections)
        {
            var run = apps.Single(a => Scalar(a, "appID") == app);
            Assert.Equal(Value(rendering.Values, section).ToString(CultureInfo.InvariantCulture), Scalar(run, "appMaxConcurrency"));
        }
    }

    [Fact]
    public async Task The_defaults_are_sized_with_the_gateways_write_limit_and_keep_daprds_connections_to_the_app_alive()
    {
        var rendering = await HelmRenderer.RenderAsync(HelmRenderer.Default);
        var writes = int.Parse(rendering.Values["gateway"]!["admission"]!["writes"]!["concurrencyLimit"]!.ToString(), CultureInfo.InvariantCulture);

        // One actor turn per admitted write: the command sidecar lets at least one gateway pod's admitted writes into
        // the app (narrower, it would queue what the gateway admitted), and room for several gateway pods' writes
        // landing on one command-service pod; the app's pool (40 = 32 turns + 8) is sized with it.
        Assert.InRange(Value(rendering.Values, "commandService"), writes, 64);
        Assert.Equal(32, Value(rendering.Values, "commandService"));
        foreach (var section in Sections.Values)
        {
            // daprd keeps at most 64 idle connections to the app (MaxIdleConnsPerHost): more calls at once reconnect.
            Assert.InRange(Value(rendering.Values, section), 1, 64);
        }
    }

    private static int Value(JsonObject values, string section) =>
        int.Parse(values[section]?["dapr"]?["appMaxConcurrency"]?.ToString() ?? throw new InvalidOperationException($"values.yaml has no {section}.dapr.appMaxConcurrency"), CultureInfo.InvariantCulture);

    private static string? Annotation(IEnumerable<JsonObject> deployments, string app) =>
        (string?)deployments.Single(d => (string?)d["metadata"]?["name"] == app)["spec"]!["template"]!["metadata"]!["annotations"]!["dapr.io/app-max-concurrency"];
}
