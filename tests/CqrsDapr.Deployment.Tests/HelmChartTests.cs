using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using CqrsDapr.Contracts;
using CqrsDapr.ServiceDefaults;
using CqrsDapr.TestSupport;
using YamlDotNet.RepresentationModel;
using static CqrsDapr.Deployment.Tests.DaprResourceFiles;
using static CqrsDapr.Deployment.Tests.HelmChartFiles;

namespace CqrsDapr.Deployment.Tests;

/// <summary>
/// What <c>charts/cqrs-dapr</c> promises, checked from its files (no helm or cluster here; see
/// <see cref="HelmChartFiles"/> for how templates are read). Not verified here: a real <c>helm template</c>/<c>lint</c>
/// render of every branch and helper, and an install on a cluster with the Dapr control plane.
/// </summary>
public sealed partial class HelmChartTests
{
    /// <summary>The chart's Deployments: app-id (and resource name) → their section of values.yaml.</summary>
    private static readonly Dictionary<string, string> Apps = new(StringComparer.Ordinal)
    {
        [DaprNames.CommandService] = "commandService",
        [DaprNames.QueryService] = "queryService",
        ["gateway"] = "gateway",
    };

    private static readonly IReadOnlyList<(string File, YamlMappingNode Document)> All = Manifests();

    private static IEnumerable<YamlMappingNode> OfKind(string kind) => All.Where(m => Kind(m.Document) == kind).Select(m => m.Document);

    private static YamlMappingNode Deployment(string app) => OfKind("Deployment").Single(d => Name(d) == app);

    private static YamlMappingNode PodSpec(YamlMappingNode workload) => Map(Map(Map(workload, "spec"), "template"), "spec")!;

    private static YamlMappingNode Container(YamlMappingNode workload) => (YamlMappingNode)Items(PodSpec(workload), "containers").Single();

    private static IReadOnlyList<YamlNode> Items(YamlNode? node, string key) =>
        node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is YamlSequenceNode seq ? [.. seq.Children] : [];

    private static YamlMappingNode? Env(YamlMappingNode container, string name) =>
        Items(container, "env").OfType<YamlMappingNode>().SingleOrDefault(e => Scalar(e, "name") == name);

    private static YamlMappingNode StaticResource(string kind, string name) =>
        Components().Single(c => Kind(c.Document) == kind && Name(c.Document) == name).Document;

    [Fact]
    public void Chart_and_values_parse_and_the_chart_is_a_helm_3_application_chart()
    {
        var chart = Load(Path.Combine(ChartPath, "Chart.yaml")).Single();
        Assert.Equal("v2", Scalar(chart, "apiVersion"));
        Assert.Equal("cqrs-dapr", Scalar(chart, "name"));
        Assert.Equal("application", Scalar(chart, "type"));
        Assert.Matches(@"^\d+\.\d+\.\d+$", Scalar(chart, "version"));
        Assert.NotEmpty(Values.Children);
    }

    [Fact]
    public void Every_values_path_a_template_uses_exists_in_values_yaml()
    {
        var missing = AllTemplateTexts
            .SelectMany(t => ValuesPaths(t.Text).Select(path => (t.File, Path: path)))
            .Where(u => Lookup(u.Path) is null)
            .Select(u => $"{u.File}: .Values.{u.Path}")
            .Distinct()
            .ToList();
        Assert.Empty(missing);
        Assert.NotEmpty(AllTemplateTexts.SelectMany(t => ValuesPaths(t.Text))); // the check saw the templates
    }

    [Fact]
    public void Every_value_is_used_by_a_template()
    {
        // hpa.yaml and pdb.yaml read each service's section as $values (index $.Values $key).
        var texts = AllTemplateTexts.Select(t => t.Text).ToList();
        var used = texts.SelectMany(ValuesPaths)
            .Concat(texts.SelectMany(t => Regex.Matches(t, @"\$values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)"))
                .SelectMany(m => Apps.Values.Select(key => key + m.Groups[1].Value)))
            .ToHashSet(StringComparer.Ordinal);
        var unused = Leaves(Values, "").Where(leaf => !used.Any(u => leaf == u || leaf.StartsWith(u + ".", StringComparison.Ordinal))).ToList();
        Assert.Empty(unused);
    }

    [Fact]
    public void Labels_and_selector_labels_share_no_key_as_resources_carry_both()
    {
        // Flattening drops include lines, so the helpers are read as text: a key in both would be a repeated key.
        var helpers = File.ReadAllText(Path.Combine(TemplatesPath, "_helpers.tpl"));
        var labels = DefineKeys(helpers, "cqrs-dapr.labels");
        var selector = DefineKeys(helpers, "cqrs-dapr.selectorLabels");
        Assert.Contains("app.kubernetes.io/name", selector);
        Assert.Contains("app.kubernetes.io/instance", selector);
        Assert.NotEmpty(labels);
        Assert.Empty(labels.Intersect(selector));
    }

    [Fact]
    public void Every_template_flattens_to_yaml_with_a_kind()
    {
        Assert.NotEmpty(TemplateFiles);
        foreach (var file in TemplateFiles)
        {
            var documents = Parse(Flatten(File.ReadAllText(file)));
            Assert.NotEmpty(documents);
            Assert.All(documents, d => Assert.False(string.IsNullOrEmpty(Kind(d)), Path.GetFileName(file)));
        }
    }

    [Fact]
    public void One_deployment_per_app_id_the_same_app_ids_as_the_multi_app_run_file()
    {
        Assert.Equal(Apps.Keys.Order(), OfKind("Deployment").Select(Name).Order());
        var runFileAppIds = ((YamlSequenceNode)Documents(Path.Combine(RepositoryPaths.Root, "dapr.yaml")).Single().Children[new YamlScalarNode("apps")])
            .Children.Select(a => Scalar(a, "appID"));
        Assert.Equal(runFileAppIds.Order(), Apps.Keys.Order());
    }

    [Fact]
    public void Every_deployment_carries_the_dapr_annotations_on_its_pod_template()
    {
        var configuration = Name(OfKind("Configuration").Single());
        foreach (var (app, key) in Apps)
        {
            var deployment = Deployment(app);
            Assert.Null(Map(Map(deployment, "metadata"), "annotations")); // on the pod template, where the injector reads them
            var annotations = Map(Map(Map(deployment, "spec"), "template"), "metadata");
            annotations = Map(annotations, "annotations");
            Assert.NotNull(annotations);
            Assert.Equal("true", Scalar(annotations, "dapr.io/enabled"));
            Assert.Equal(app, Scalar(annotations, "dapr.io/app-id"));
            Assert.Equal(LookupScalar($"{key}.port"), Scalar(annotations, "dapr.io/app-port"));
            Assert.Equal(configuration, Scalar(annotations, "dapr.io/config"));
            Assert.Equal("true", Scalar(annotations, "dapr.io/log-as-json"));
            Assert.Equal("false", Scalar(annotations, "dapr.io/enable-api-logging"));
            foreach (var resource in new[] { "cpu-request", "cpu-limit", "memory-request", "memory-limit" })
            {
                Assert.False(string.IsNullOrEmpty(Scalar(annotations, $"dapr.io/sidecar-{resource}")), $"{app}: sidecar-{resource}");
            }

            Assert.NotNull(Scalar(annotations, "dapr.io/api-token-secret"));
            Assert.NotNull(Scalar(annotations, "dapr.io/app-token-secret"));
            var template = File.ReadAllText(Path.Combine(TemplatesPath, $"deployment-{app}.yaml"));
            Assert.Contains("with .Values.secrets.daprApiToken.name }}\n        dapr.io/api-token-secret:", template, StringComparison.Ordinal);
            Assert.Contains("with .Values.secrets.appApiToken.name }}\n        dapr.io/app-token-secret:", template, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Every_deployment_listens_on_its_app_port_and_probes_health_and_liveness()
    {
        foreach (var (app, key) in Apps)
        {
            var container = Container(Deployment(app));
            var port = LookupScalar($"{key}.port");
            Assert.Equal(port, Scalar((YamlMappingNode)Items(container, "ports").Single(), "containerPort"));
            Assert.Equal(port, Scalar(Env(container, "ASPNETCORE_HTTP_PORTS"), "value"));
            Assert.Equal(ServiceDefaultsExtensions.HealthPath, Scalar(Map(Map(container, "readinessProbe"), "httpGet"), "path"));
            Assert.Equal(ServiceDefaultsExtensions.AlivePath, Scalar(Map(Map(container, "livenessProbe"), "httpGet"), "path"));
        }
    }

    [Fact]
    public void Every_deployment_drains_before_it_is_killed()
    {
        foreach (var (app, key) in Apps)
        {
            var preStop = Int(Scalar(Map(Map(Map(Container(Deployment(app)), "lifecycle"), "preStop"), "sleep"), "seconds"));
            var sidecarShutdown = Int(LookupScalar($"{key}.daprGracefulShutdownSeconds"));
            var grace = Int(Scalar(PodSpec(Deployment(app)), "terminationGracePeriodSeconds"));
            Assert.True(preStop > 0, app);
            Assert.True(grace > preStop + sidecarShutdown, $"{app}: grace {grace}s must outlast preStop {preStop}s + sidecar shutdown {sidecarShutdown}s");
        }
    }

    [Fact]
    public void Every_deployment_has_resources_from_values_with_requests_and_limits()
    {
        foreach (var (app, key) in Apps)
        {
            Assert.True(Container(Deployment(app)).Children.ContainsKey(new YamlScalarNode("resources")), app);
            Assert.Contains($"toYaml .Values.{key}.resources", File.ReadAllText(Path.Combine(TemplatesPath, $"deployment-{app}.yaml")), StringComparison.Ordinal);
            foreach (var path in new[] { "requests.cpu", "requests.memory", "limits.cpu", "limits.memory" })
            {
                Assert.False(string.IsNullOrEmpty(LookupScalar($"{key}.resources.{path}")), $"{key}.resources.{path}");
            }
        }
    }

    [Fact]
    public void Every_pod_runs_non_root_read_only_without_capabilities_and_with_a_writable_tmp()
    {
        var workloads = OfKind("Deployment").Concat(OfKind("Job")).ToList();
        Assert.Equal(Apps.Count + 1, workloads.Count);
        foreach (var workload in workloads)
        {
            var pod = PodSpec(workload);
            Assert.Equal("true", Scalar(Map(pod, "securityContext"), "runAsNonRoot"));
            Assert.Equal("RuntimeDefault", Scalar(Map(Map(pod, "securityContext"), "seccompProfile"), "type"));
            var security = Map(Container(workload), "securityContext");
            Assert.Equal("true", Scalar(security, "readOnlyRootFilesystem"));
            Assert.Equal("false", Scalar(security, "allowPrivilegeEscalation"));
            Assert.Equal("true", Scalar(security, "runAsNonRoot"));
            Assert.Equal(["ALL"], Sequence(Map(security, "capabilities"), "drop"));
            var tmp = Items(Container(workload), "volumeMounts").OfType<YamlMappingNode>().Single(v => Scalar(v, "mountPath") == "/tmp");
            var volume = Items(pod, "volumes").OfType<YamlMappingNode>().Single(v => Scalar(v, "name") == Scalar(tmp, "name"));
            Assert.NotNull(Map(volume, "emptyDir"));
        }
    }

    [Fact]
    public void Images_come_from_values_with_a_pinned_tag_never_latest()
    {
        foreach (var key in Apps.Values)
        {
            Assert.False(string.IsNullOrEmpty(LookupScalar($"{key}.image.repository")), key);
            var tag = LookupScalar($"{key}.image.tag");
            Assert.False(string.IsNullOrEmpty(tag), key);
            Assert.NotEqual("latest", tag, StringComparer.OrdinalIgnoreCase);
        }

        Assert.All(AllTemplateTexts, t => Assert.DoesNotContain("latest", t.Text, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void The_images_the_sdk_builds_are_the_ones_the_chart_pulls()
    {
        var props = XDocument.Load(Path.Combine(RepositoryPaths.Root, "Directory.Build.props"));
        var tag = props.Descendants("ContainerImageTag").Single().Value;
        Assert.EndsWith("-chiseled", props.Descendants("ContainerBaseImage").Single().Value, StringComparison.Ordinal);
        Assert.Equal(Scalar(Load(Path.Combine(ChartPath, "Chart.yaml")).Single(), "appVersion"), tag);
        foreach (var (app, key) in Apps)
        {
            var project = Path.GetFileName(Directory.GetDirectories(Path.Combine(RepositoryPaths.Root, "src"))
                .Single(d => string.Equals(Path.GetFileName(d), "CqrsDapr." + char.ToUpperInvariant(key[0]) + key[1..], StringComparison.Ordinal)));
            var repository = XDocument.Load(Path.Combine(RepositoryPaths.Root, "src", project, project + ".csproj")).Descendants("ContainerRepository").Single().Value;
            Assert.EndsWith("/" + repository, LookupScalar($"{key}.image.repository"), StringComparison.Ordinal);
            Assert.Equal(tag, LookupScalar($"{key}.image.tag"));
            Assert.EndsWith("/" + app, repository, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Each_app_gets_the_settings_it_reads_and_secrets_only_by_reference()
    {
        var command = Container(Deployment(DaprNames.CommandService));
        Assert.Equal(LookupScalar("secrets.writeDb.name"), Scalar(Map(Map(Env(command, "ConnectionStrings__writedb"), "valueFrom"), "secretKeyRef"), "name"));
        Assert.Null(Scalar(Env(command, "ConnectionStrings__writedb"), "value"));

        var query = Container(Deployment(DaprNames.QueryService));
        Assert.Equal("Declarative", Scalar(Env(query, "Projection__Subscriptions"), "value"));

        // The gateway's route table (appsettings.json) names its clusters; service discovery finds them by these keys.
        var gateway = Container(Deployment("gateway"));
        foreach (var cluster in GatewayRoutes().Keys)
        {
            Assert.Equal(Placeholder, Scalar(Env(gateway, $"Services__{cluster}__http__0"), "value"));
        }

        var gatewayTemplate = File.ReadAllText(Path.Combine(TemplatesPath, "deployment-gateway.yaml"));
        Assert.Contains("\"http://command-service.%s.svc:%v\"", gatewayTemplate, StringComparison.Ordinal);
        Assert.Contains("\"http://query-service.%s.svc:%v\"", gatewayTemplate, StringComparison.Ordinal);

        // The token variables come from the helpers (not seen when flattened): their text names the Secrets the
        // annotations give the sidecars.
        var helpers = File.ReadAllText(Path.Combine(TemplatesPath, "_helpers.tpl"));
        Assert.Contains("- name: DAPR_API_TOKEN", helpers, StringComparison.Ordinal);
        Assert.Contains("- name: APP_API_TOKEN", helpers, StringComparison.Ordinal);
        foreach (var app in Apps.Keys)
        {
            Assert.Contains("include \"cqrs-dapr.tokenEnv\"", File.ReadAllText(Path.Combine(TemplatesPath, $"deployment-{app}.yaml")), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Migrations_run_in_a_pre_install_and_pre_upgrade_hook_with_the_command_service_image()
    {
        var job = OfKind("Job").Single();
        var hooks = Scalar(Map(Map(job, "metadata"), "annotations"), "helm.sh/hook")!.Split(',');
        Assert.Equal(["pre-install", "pre-upgrade"], hooks.Order());
        var container = Container(job);
        Assert.Equal(["migrate"], Sequence(container, "args"));
        Assert.Equal("Never", Scalar(PodSpec(job), "restartPolicy"));
        Assert.NotNull(Map(Map(Env(container, "ConnectionStrings__writedb"), "valueFrom"), "secretKeyRef"));
        Assert.Contains("include \"cqrs-dapr.image\" .Values.commandService.image", File.ReadAllText(Path.Combine(TemplatesPath, "migrations-job.yaml")), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_dapr_component_is_scoped_and_matches_components_with_its_default_values()
    {
        var components = OfKind("Component").ToList();
        Assert.Equal([DaprNames.ActorStore, DaprNames.PubSub, DaprNames.ViewStore], components.Select(Name).Order());
        foreach (var component in components)
        {
            var local = StaticResource("Component", Name(component));
            Assert.NotEmpty(Sequence(component, "scopes"));
            Assert.Equal(Sequence(local, "scopes").Order(), Sequence(component, "scopes").Order());
            Assert.Equal(Scalar(Map(local, "spec"), "type"), Scalar(Map(component, "spec"), "type"));
            Assert.Equal(Scalar(Map(local, "spec"), "version"), Scalar(Map(component, "spec"), "version"));

            var chartMetadata = Items(Map(component, "spec"), "metadata").OfType<YamlMappingNode>().ToDictionary(m => Scalar(m, "name")!);
            foreach (var item in Items(Map(local, "spec"), "metadata").OfType<YamlMappingNode>())
            {
                var name = Scalar(item, "name")!;
                Assert.True(chartMetadata.TryGetValue(name, out var chartItem), $"{Name(component)}: {name} missing");
                if (Map(item, "secretKeyRef") is not null)
                {
                    Assert.NotNull(Map(chartItem, "secretKeyRef")); // from a Kubernetes Secret, as locally from the environment
                }
                else if (Scalar(item, "value") is { Length: > 0 } value)
                {
                    Assert.Equal(value, Scalar(chartItem, "value"));
                }
            }
        }
    }

    [Fact]
    public void Connection_settings_of_every_component_branch_come_from_secrets()
    {
        var text = File.ReadAllText(Path.Combine(TemplatesPath, "dapr-components.yaml"));
        foreach (var secret in new[] { "connectionString", "redisHost", "redisPassword", "saslPassword", "masterKey" })
        {
            Assert.Matches($@"- name: {secret}\s*\n\s*secretKeyRef:", text);
        }
    }

    [Fact]
    public void Subscriptions_and_resiliency_are_the_ones_the_local_runs_use()
    {
        var subscriptions = OfKind("Subscription").ToList();
        Assert.Equal(Components().Count(c => Kind(c.Document) == "Subscription"), subscriptions.Count);
        foreach (var subscription in subscriptions)
        {
            var local = StaticResource("Subscription", Name(subscription));
            Assert.Equal("dapr.io/v2alpha1", Scalar(subscription, "apiVersion"));
            Assert.Equal(Canonical(Map(local, "spec")), Canonical(Map(subscription, "spec")));
            Assert.Equal(Sequence(local, "scopes"), Sequence(subscription, "scopes"));
        }

        var projection = Map(OfKind("Subscription").Single(s => Scalar(Map(s, "spec"), "topic") == Topics.Products), "spec");
        Assert.Equal(DaprNames.PubSub, Scalar(projection, "pubsubname"));
        Assert.Equal(Topics.DeadLetterOf(Topics.Products), Scalar(projection, "deadLetterTopic"));

        var resiliency = OfKind("Resiliency").Single();
        var localResiliency = Components().Single(c => Kind(c.Document) == "Resiliency").Document;
        Assert.Equal(Canonical(Map(localResiliency, "spec")), Canonical(Map(resiliency, "spec")));
        Assert.Equal(Sequence(localResiliency, "scopes").Order(), Sequence(resiliency, "scopes").Order());
    }

    [Fact]
    public void Configuration_traces_to_otlp_and_lets_only_the_query_service_read_the_event_log()
    {
        var spec = Map(OfKind("Configuration").Single(), "spec");
        Assert.Equal(LookupScalar("dapr.tracing.otlpEndpoint"), Scalar(Map(Map(spec, "tracing"), "otel"), "endpointAddress"));

        var access = Map(spec, "accessControl");
        Assert.Equal("deny", Scalar(access, "defaultAction"));
        var policy = (YamlMappingNode)Items(access, "policies").Single();
        Assert.Equal(DaprNames.QueryService, Scalar(policy, "appId"));
        Assert.Equal("deny", Scalar(policy, "defaultAction"));
        var operation = (YamlMappingNode)Items(policy, "operations").Single();
        Assert.Equal("/" + EventLogPage.Method, Scalar(operation, "name"));
        Assert.Equal(["GET"], Sequence(operation, "httpVerb"));
        Assert.Equal("allow", Scalar(operation, "action"));
    }

    [Fact]
    public void Autoscalers_and_disruption_budgets_cover_every_deployment_with_its_own_values()
    {
        foreach (var file in new[] { "hpa.yaml", "pdb.yaml" })
        {
            var text = File.ReadAllText(Path.Combine(TemplatesPath, file));
            var pairs = DictPairs().Match(text);
            Assert.True(pairs.Success, file);
            var words = Regex.Matches(pairs.Groups[1].Value, "\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
            var map = words.Chunk(2).ToDictionary(p => p[0], p => p[1]);
            Assert.Equal(Apps, map);
        }

        foreach (var key in Apps.Values)
        {
            Assert.True(Int(LookupScalar($"{key}.autoscaling.minReplicas")) >= Int(LookupScalar($"{key}.pdb.minAvailable")) + 1, $"{key}: a drain must be able to evict a pod");
            Assert.True(Int(LookupScalar($"{key}.autoscaling.maxReplicas")) > Int(LookupScalar($"{key}.autoscaling.minReplicas")), key);
        }

        Assert.Equal("Deployment", Scalar(Map(Map(OfKind("HorizontalPodAutoscaler").Single(), "spec"), "scaleTargetRef"), "kind"));
    }

    [Fact]
    public void Ingress_reaches_the_gateway_and_the_http_route_splits_methods_like_the_gateway_does()
    {
        var ingress = Map(OfKind("Ingress").Single(), "spec");
        Assert.Equal(LookupScalar("ingress.className"), Scalar(ingress, "ingressClassName"));
        var rule = (YamlMappingNode)Items(ingress, "rules").Single();
        Assert.Equal(LookupScalar("ingress.host"), Scalar(rule, "host"));
        var path = (YamlMappingNode)Items(Map(rule, "http"), "paths").Single();
        Assert.Equal("gateway", Scalar(Map(Map(path, "backend"), "service"), "name"));

        var routes = GatewayRoutes();
        var httpRoute = Map(OfKind("HTTPRoute").Single(), "spec");
        var rules = Items(httpRoute, "rules").Cast<YamlMappingNode>().ToList();
        var queryRule = rules.Single(r => Scalar((YamlMappingNode)Items(r, "backendRefs").Single(), "name") == DaprNames.QueryService);
        Assert.Equal(routes[DaprNames.QueryService].Order(), Items(queryRule, "matches").Select(m => Scalar(m, "method")!).Order());
        Assert.Single(rules, r => Scalar((YamlMappingNode)Items(r, "backendRefs").Single(), "name") == DaprNames.CommandService);
        var commandMethods = Regex.Match(File.ReadAllText(Path.Combine(TemplatesPath, "httproute.yaml")), @"range list ((?:""[A-Z]+""\s*)+)").Groups[1].Value;
        Assert.Equal(routes[DaprNames.CommandService].Order(), Regex.Matches(commandMethods, "[A-Z]+").Select(m => m.Value).Order());
        Assert.All(rules.SelectMany(r => Items(r, "matches")), m => Assert.Equal("/api", Scalar(Map(m, "path"), "value")));
    }

    [Fact]
    public void Network_policies_exist_for_every_app()
    {
        var text = File.ReadAllText(Path.Combine(TemplatesPath, "networkpolicies.yaml"));
        Assert.Matches($@"range \$app := list ""{DaprNames.CommandService}"" ""{DaprNames.QueryService}""", text);
        Assert.Contains(OfKind("NetworkPolicy"), p => Name(p) == "gateway");
        Assert.All(OfKind("NetworkPolicy"), p => Assert.NotEmpty(Sequence(Map(p, "spec"), "policyTypes")));
    }

    /// <summary>The gateway's YARP routes: cluster → methods, from its appsettings.json.</summary>
    private static Dictionary<string, string[]> GatewayRoutes()
    {
        using var settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryPaths.Root, "src", "CqrsDapr.Gateway", "appsettings.json")));
        return settings.RootElement.GetProperty("ReverseProxy").GetProperty("Routes").EnumerateObject()
            .ToDictionary(r => r.Value.GetProperty("ClusterId").GetString()!, r => r.Value.GetProperty("Match").GetProperty("Methods").EnumerateArray().Select(m => m.GetString()!).ToArray());
    }

    /// <summary>A node as text with mapping keys sorted, so two equal YAML trees compare equal.</summary>
    private static string Canonical(YamlNode? node) => node switch
    {
        YamlScalarNode scalar => JsonSerializer.Serialize(scalar.Value),
        YamlSequenceNode sequence => "[" + string.Join(",", sequence.Children.Select(Canonical)) + "]",
        YamlMappingNode map => "{" + string.Join(",", map.Children.OrderBy(c => ((YamlScalarNode)c.Key).Value, StringComparer.Ordinal)
            .Select(c => $"{((YamlScalarNode)c.Key).Value}:{Canonical(c.Value)}")) + "}",
        _ => "null",
    };

    /// <summary>The dotted paths of a mapping's leaves (scalars, sequences, empty mappings).</summary>
    private static IEnumerable<string> Leaves(YamlMappingNode map, string prefix) =>
        map.Children.SelectMany(c =>
        {
            var path = prefix + (prefix.Length == 0 ? "" : ".") + ((YamlScalarNode)c.Key).Value;
            return c.Value is YamlMappingNode { Children.Count: > 0 } child ? Leaves(child, path) : [path];
        });

    /// <summary>The mapping keys a <c>define</c> of <c>_helpers.tpl</c> writes (its lines of the form <c>key: …</c>).</summary>
    private static IReadOnlyList<string> DefineKeys(string helpers, string name)
    {
        var start = helpers.IndexOf($"{{{{- define \"{name}\" -}}}}", StringComparison.Ordinal);
        Assert.True(start >= 0, name);
        var body = helpers[start..helpers.IndexOf("{{- end -}}", start, StringComparison.Ordinal)];
        return [.. Regex.Matches(body, @"^([A-Za-z0-9./-]+):", RegexOptions.Multiline).Select(m => m.Groups[1].Value)];
    }

    [GeneratedRegex(@"dict ((?:""[^""]+"" ""[^""]+""\s*)+)")]
    private static partial Regex DictPairs();
}
