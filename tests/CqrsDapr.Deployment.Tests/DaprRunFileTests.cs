using CqrsDapr.Contracts;
using CqrsDapr.TestSupport;
using YamlDotNet.RepresentationModel;
using static CqrsDapr.Deployment.Tests.DaprResourceFiles;

namespace CqrsDapr.Deployment.Tests;

/// <summary><c>dapr.yaml</c> (Multi-App Run) against the services and components it starts.</summary>
public sealed class DaprRunFileTests
{
    private static readonly YamlMappingNode Run = Documents(Path.Combine(RepositoryPaths.Root, "dapr.yaml")).Single();

    private static IReadOnlyList<YamlMappingNode> Apps =>
        [.. ((YamlSequenceNode)Run.Children[new YamlScalarNode("apps")]).Children.Cast<YamlMappingNode>()];

    private static YamlMappingNode App(string appId) => Apps.Single(a => Scalar(a, "appID") == appId);

    [Fact]
    public void Both_services_run_with_their_app_ids_from_existing_project_folders_and_the_repository_components()
    {
        Assert.Equal("1", Scalar(Run, "version"));
        Assert.Equal(["./components"], Sequence(Map(Run, "common"), "resourcesPaths"));
        foreach (var appId in new[] { DaprNames.CommandService, DaprNames.QueryService })
        {
            var app = App(appId);
            Assert.True(File.Exists(Path.Combine(RepositoryPaths.Root, Scalar(app, "appDirPath")!, Path.GetFileName(Scalar(app, "appDirPath")!) + ".csproj")), appId);
            Assert.Contains($"http://localhost:{Scalar(app, "appPort")}", Sequence(app, "command"));
        }
    }

    [Fact]
    public void Ports_are_distinct_and_the_gateway_routes_to_the_services_ports()
    {
        var ports = Apps.SelectMany(a => new[] { Scalar(a, "appPort"), Scalar(a, "daprHTTPPort"), Scalar(a, "daprGRPCPort") }).ToList();
        Assert.Equal(ports.Count, ports.Distinct().Count());
        var gateway = Map(App("gateway"), "env");
        Assert.Equal($"http://localhost:{Scalar(App(DaprNames.CommandService), "appPort")}", Scalar(gateway, "Services__command-service__http__0"));
        Assert.Equal($"http://localhost:{Scalar(App(DaprNames.QueryService), "appPort")}", Scalar(gateway, "Services__query-service__http__0"));
        Assert.Equal("8080", Scalar(App("gateway"), "appPort"));
    }
}
