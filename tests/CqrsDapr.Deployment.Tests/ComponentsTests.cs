using CqrsDapr.Contracts;
using YamlDotNet.RepresentationModel;
using static CqrsDapr.Deployment.Tests.DaprResourceFiles;

namespace CqrsDapr.Deployment.Tests;

/// <summary>What <c>components/</c> promises the services and operators, read from the files.</summary>
public sealed class ComponentsTests
{
    private static readonly IReadOnlyList<(string File, YamlMappingNode Document)> All = Components();
    private static readonly string[] Kinds = ["Component", "Resiliency", "Subscription", "Configuration"];

    private static YamlMappingNode Component(string name) =>
        All.Single(c => Kind(c.Document) == "Component" && Name(c.Document) == name).Document;

    [Fact]
    public void Every_resource_parses_and_is_a_kind_daprd_reads()
    {
        Assert.NotEmpty(All);
        Assert.All(All, c => Assert.Contains(Kind(c.Document), Kinds));
        Assert.All(All, c => Assert.Equal(Kind(c.Document) == "Subscription" ? "dapr.io/v2alpha1" : "dapr.io/v1alpha1", Scalar(c.Document, "apiVersion")));
    }

    [Fact]
    public void The_services_find_the_components_they_name_with_the_types_they_need()
    {
        Assert.Equal(("pubsub.redis", "v1"), (Scalar(Map(Component(DaprNames.PubSub), "spec"), "type"), Scalar(Map(Component(DaprNames.PubSub), "spec"), "version")));
        Assert.Equal(("state.postgresql", "v1"), (Scalar(Map(Component(DaprNames.ViewStore), "spec"), "type"), Scalar(Map(Component(DaprNames.ViewStore), "spec"), "version")));
        Assert.Equal(("state.postgresql", "v1"), (Scalar(Map(Component(DaprNames.ActorStore), "spec"), "type"), Scalar(Map(Component(DaprNames.ActorStore), "spec"), "version")));
        Assert.Equal("true", MetadataValue(Component(DaprNames.ActorStore), "actorStateStore"));
    }

    [Fact]
    public void Each_component_is_scoped_to_the_apps_that_use_it_and_the_read_and_write_stores_stay_apart()
    {
        Assert.Equal([DaprNames.CommandService, DaprNames.QueryService], Sequence(Component(DaprNames.PubSub), "scopes").Order());
        Assert.Equal([DaprNames.QueryService], Sequence(Component(DaprNames.ViewStore), "scopes"));
        Assert.Equal([DaprNames.CommandService], Sequence(Component(DaprNames.ActorStore), "scopes"));
        Assert.All(All.Where(c => Kind(c.Document) == "Component" && Name(c.Document) != "envsecrets"),
            c => Assert.NotEmpty(Sequence(c.Document, "scopes")));
    }

    [Fact]
    public void Connection_settings_come_from_secrets_never_from_the_files()
    {
        foreach (var (file, doc) in All.Where(c => Kind(c.Document) == "Component"))
        {
            foreach (var item in Metadata(doc))
            {
                var name = Scalar(item, "name") ?? "";
                if (name is "connectionString" or "redisHost" or "redisPassword" && Scalar(item, "value") is { Length: > 0 } inline)
                {
                    Assert.Fail($"{file}: {name} is inline ('{inline}'); use secretKeyRef");
                }
            }
        }

        Assert.NotNull(Map(Metadata(Component(DaprNames.ViewStore)).Single(m => Scalar(m, "name") == "connectionString"), "secretKeyRef"));
        Assert.NotNull(Map(Metadata(Component(DaprNames.ActorStore)).Single(m => Scalar(m, "name") == "connectionString"), "secretKeyRef"));
    }

    [Fact]
    public void Pub_sub_concurrency_fills_the_query_services_bulk_batches()
    {
        // daprd fills a bulk-subscribe batch only up to the component's concurrency (query-service asks for 500).
        Assert.True(int.Parse(MetadataValue(Component(DaprNames.PubSub), "concurrency") ?? "10", System.Globalization.CultureInfo.InvariantCulture) >= 500);
    }

    [Fact]
    public void Resiliency_retries_deliveries_so_a_retry_answer_never_dead_letters_an_event_at_once()
    {
        var resiliency = All.Single(c => Kind(c.Document) == "Resiliency").Document;
        var spec = Map(resiliency, "spec");
        var targets = Map(Map(spec, "targets"), "components")!;
        var inbound = Map(Map(targets, DaprNames.PubSub), "inbound");
        var retryName = Scalar(inbound, "retry");

        Assert.NotNull(retryName);
        Assert.Equal("-1", Scalar(Map(Map(Map(spec, "policies"), "retries"), retryName!), "maxRetries"));
        var components = All.Where(c => Kind(c.Document) == "Component").Select(c => Name(c.Document)).ToHashSet();
        Assert.All(targets.Children.Keys.Cast<YamlScalarNode>(), t => Assert.Contains(t.Value ?? "", components));
        foreach (var (_, target) in targets.Children)
        {
            foreach (var direction in ((YamlMappingNode)target).Children.Values.Cast<YamlMappingNode>())
            {
                foreach (var (kind, policy) in direction.Children)
                {
                    var section = ((YamlScalarNode)kind).Value switch { "retry" => "retries", "timeout" => "timeouts", _ => "circuitBreakers" };
                    Assert.True(Map(Map(spec, "policies"), section)!.Children.ContainsKey(policy), $"{kind}: {policy} is not defined");
                }
            }
        }
    }

    private static IEnumerable<YamlMappingNode> Metadata(YamlMappingNode component) =>
        Map(component, "spec")!.Children.TryGetValue(new YamlScalarNode("metadata"), out var items) && items is YamlSequenceNode seq
            ? seq.Children.Cast<YamlMappingNode>()
            : [];

    private static string? MetadataValue(YamlMappingNode component, string name) =>
        Metadata(component).Where(m => Scalar(m, "name") == name).Select(m => Scalar(m, "value")).SingleOrDefault();
}
