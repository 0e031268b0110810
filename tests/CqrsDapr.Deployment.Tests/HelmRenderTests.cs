using System.Text.Json;
using System.Text.Json.Nodes;
using CqrsDapr.Contracts;
using CqrsDapr.ServiceDefaults;
using YamlDotNet.RepresentationModel;

namespace CqrsDapr.Deployment.Tests;

/// <summary>
/// <c>charts/cqrs-dapr</c> rendered (see <see cref="HelmRenderer"/>) with its default values and with every override
/// file of <c>chart-values/</c>, which together take every branch of the templates; the invariants are checked on the
/// rendered objects, as the API server would decode them.
/// </summary>
public sealed class HelmRenderTests
{
    /// <summary>daprd's internal gRPC port (sidecar to sidecar): injected with the sidecar, so in no pod template.</summary>
    private const int DaprInternalPort = 50002;

    private static readonly string[] Probes = ["readinessProbe", "livenessProbe", "startupProbe"];

    public static TheoryData<string> ValueSets => HelmRenderer.ValueSetData;

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task Renders_to_yaml_documents_with_a_kind_and_a_name_unique_per_kind(string valueSet)
    {
        var rendering = await HelmRenderer.RenderAsync(valueSet);
        var stream = new YamlStream();
        stream.Load(new StringReader(rendering.Yaml)); // what helm prints parses as YAML, document by document
        Assert.Equal(rendering.Documents.Count, stream.Documents.Count);
        Assert.All(stream.Documents, d => Assert.IsType<YamlMappingNode>(d.RootNode));
        Assert.All(rendering.Documents, d =>
        {
            Assert.False(string.IsNullOrEmpty((string?)d.Object["apiVersion"]), d.Source);
            Assert.False(string.IsNullOrEmpty(d.Kind), d.Source);
            Assert.False(string.IsNullOrEmpty(d.Name), d.Source);
        });
        var duplicates = rendering.Documents.GroupBy(d => (d.Kind, d.Name)).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.Empty(duplicates);
    }

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task Built_in_objects_are_valid_against_the_kubernetes_and_gateway_api_schemas(string valueSet)
    {
        var (code, output) = await HelmRenderer.ValidateSchemasAsync(valueSet);
        Assert.True(code == 0, output);
        Assert.Contains("validated", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_value_sets_take_every_branch_of_the_templates()
    {
        var renderings = await Task.WhenAll(HelmRenderer.ValueSets.Select(HelmRenderer.RenderAsync));
        var kinds = renderings.SelectMany(r => r.Documents).Select(d => d.Kind).ToHashSet(StringComparer.Ordinal);
        Assert.Superset(new HashSet<string>(["Deployment", "Service", "Ingress", "HTTPRoute", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "Job", "Component", "Subscription", "Resiliency", "Configuration"], StringComparer.Ordinal), kinds);

        // Every manifest template renders something in some value set, and each optional object is seen on and off.
        var sources = renderings.SelectMany(r => r.Documents).Select(d => Path.GetFileName(d.Source)).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(HelmChartFiles.TemplateFiles.Select(Path.GetFileName).Order(StringComparer.Ordinal), sources.Order(StringComparer.Ordinal));
        foreach (var kind in new[] { "Ingress", "HTTPRoute", "HorizontalPodAutoscaler", "NetworkPolicy", "Job" })
        {
            Assert.Contains(renderings, r => !r.OfKind(kind).Any());
            Assert.Contains(renderings, r => r.OfKind(kind).Any());
        }

        var componentTypes = renderings.SelectMany(r => r.OfKind("Component")).Select(c => (string?)c["spec"]?["type"]).ToHashSet(StringComparer.Ordinal);
        Assert.Superset(new HashSet<string?>(["pubsub.redis", "pubsub.kafka", "pubsub.azure.servicebus.topics", "state.postgresql", "state.azure.cosmosdb"], StringComparer.Ordinal), componentTypes);
        Assert.Contains(renderings, r => r.OfKind("Configuration").All(c => c["spec"]?["tracing"] is null));
        Assert.Contains(renderings, r => r.OfKind("NetworkPolicy").Any(p => Strings(p["spec"]?["policyTypes"]).Contains("Egress")));
    }

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task Every_service_selects_the_pods_of_a_deployment_and_targets_a_declared_container_port(string valueSet)
    {
        var rendering = await HelmRenderer.RenderAsync(valueSet);
        foreach (var service in rendering.OfKind("Service"))
        {
            var selector = Labels(service["spec"]?["selector"]);
            Assert.NotEmpty(selector);
            var deployment = Assert.Single(rendering.OfKind("Deployment"), d => Matches(selector, PodLabels(d)));
            var ports = ContainerPorts(deployment);
            foreach (var port in service["spec"]!["ports"]!.AsArray())
            {
                Assert.True(IsDeclared(port!["targetPort"], ports), $"{Name(service)}: targetPort {port!["targetPort"]?.ToJsonString()}");
            }
        }

        // Every Deployment has its Service, and the Ingress reaches a real Service port.
        Assert.Equal(rendering.OfKind("Deployment").Select(Name).Order(StringComparer.Ordinal), rendering.OfKind("Service").Select(Name).Order(StringComparer.Ordinal));
        foreach (var ingress in rendering.OfKind("Ingress"))
        {
            foreach (var backend in ingress.Descendants("backend"))
            {
                var service = Assert.Single(rendering.OfKind("Service"), s => Name(s) == (string?)backend["service"]?["name"]);
                Assert.Contains(service["spec"]!["ports"]!.AsArray(), p => (string?)p!["name"] == (string?)backend["service"]?["port"]?["name"]);
            }
        }

        foreach (var route in rendering.OfKind("HTTPRoute"))
        {
            foreach (var backend in route["spec"]!["rules"]!.AsArray().SelectMany(r => r!["backendRefs"]!.AsArray()))
            {
                var service = Assert.Single(rendering.OfKind("Service"), s => Name(s) == (string?)backend!["name"]);
                Assert.Contains(service["spec"]!["ports"]!.AsArray(), p => (int?)p!["port"] == (int?)backend!["port"]);
            }
        }
    }

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task Autoscalers_and_disruption_budgets_target_existing_deployments_and_let_a_drain_evict(string valueSet)
    {
        var rendering = await HelmRenderer.RenderAsync(valueSet);
        var deployments = rendering.OfKind("Deployment").ToDictionary(Name, StringComparer.Ordinal);
        var autoscalers = rendering.OfKind("HorizontalPodAutoscaler").ToDictionary(h => (string)h["spec"]!["scaleTargetRef"]!["name"]!, StringComparer.Ordinal);
        foreach (var (name, hpa) in autoscalers)
        {
            Assert.Equal("Deployment", (string?)hpa["spec"]!["scaleTargetRef"]!["kind"]);
            Assert.Equal("apps/v1", (string?)hpa["spec"]!["scaleTargetRef"]!["apiVersion"]);
            Assert.True(deployments.TryGetValue(name, out var deployment), name);
            Assert.Null(deployment["spec"]!["replicas"]); // the autoscaler owns the count; a fixed one would fight it on every upgrade
        }

        foreach (var (name, deployment) in deployments.Where(d => !autoscalers.ContainsKey(d.Key)))
        {
            Assert.True((int?)deployment["spec"]!["replicas"] > 0, $"{name}: replicas without an autoscaler");
        }

        foreach (var pdb in rendering.OfKind("PodDisruptionBudget"))
        {
            var selector = Labels(pdb["spec"]?["selector"]?["matchLabels"]);
            Assert.NotEmpty(selector);
            var deployment = Assert.Single(deployments.Values, d => Matches(selector, PodLabels(d)));
            var fewest = autoscalers.TryGetValue(Name(deployment), out var hpa) ? (int)hpa["spec"]!["minReplicas"]! : (int)deployment["spec"]!["replicas"]!;
            Assert.True((int)pdb["spec"]!["minAvailable"]! < fewest, $"{Name(pdb)}: minAvailable must stay below the {fewest} replicas, or no drain can evict a pod");
        }
    }

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task Network_policies_select_real_pods_and_allow_real_ports(string valueSet)
    {
        var rendering = await HelmRenderer.RenderAsync(valueSet);
        var pods = rendering.OfKind("Deployment").ToList();
        foreach (var policy in rendering.OfKind("NetworkPolicy"))
        {
            var selected = pods.Where(d => Matches(Labels(policy["spec"]?["podSelector"]?["matchLabels"]), PodLabels(d))).ToList();
            Assert.True(selected.Count > 0, $"{Name(policy)} selects no pod");
            foreach (var rule in policy["spec"]?["ingress"]?.AsArray() ?? [])
            {
                foreach (var peer in rule!["from"]!.AsArray().Where(p => p!["podSelector"] is not null && p["namespaceSelector"] is null))
                {
                    Assert.Contains(pods, d => Matches(Labels(peer!["podSelector"]!["matchLabels"]), PodLabels(d)));
                }

                foreach (var port in rule["ports"]?.AsArray() ?? [])
                {
                    Assert.All(selected, d => Assert.True(
                        IsDeclared(port!["port"], ContainerPorts(d)) || (int?)port["port"] is DaprInternalPort,
                        $"{Name(policy)}: port {port!["port"]?.ToJsonString()} is not a port of {Name(d)}"));
                }
            }

            foreach (var rule in policy["spec"]?["egress"]?.AsArray() ?? [])
            {
                foreach (var peer in rule!["to"]?.AsArray().Where(p => p!["podSelector"] is not null && p["namespaceSelector"] is null) ?? [])
                {
                    Assert.Contains(pods, d => Matches(Labels(peer!["podSelector"]!["matchLabels"]), PodLabels(d)));
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task Every_deployment_has_string_dapr_annotations_probes_resources_and_a_locked_down_security_context(string valueSet)
    {
        var rendering = await HelmRenderer.RenderAsync(valueSet);
        var configurations = rendering.OfKind("Configuration").Select(Name).ToList();
        var deployments = rendering.OfKind("Deployment").ToList();
        Assert.Equal(3, deployments.Count);
        foreach (var deployment in deployments)
        {
            var app = Name(deployment);
            var annotations = deployment["spec"]!["template"]!["metadata"]!["annotations"]!.AsObject();
            Assert.Equal("true", (string?)annotations["dapr.io/enabled"]);
            Assert.Equal(app, (string?)annotations["dapr.io/app-id"]);
            var container = Assert.Single(PodSpec(deployment)["containers"]!.AsArray())!;
            var port = (int)Assert.Single(container["ports"]!.AsArray())!["containerPort"]!;
            Assert.Equal(port.ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)annotations["dapr.io/app-port"]);
            Assert.Contains((string?)annotations["dapr.io/config"], configurations);
            Assert.Equal("http", (string?)annotations["dapr.io/app-protocol"]);

            // The tokens: the sidecar's annotation and the app's variable name the same Secret, or neither exists.
            Assert.Equal((string?)annotations["dapr.io/api-token-secret"], SecretOf(container, "DAPR_API_TOKEN"));
            Assert.Equal((string?)annotations["dapr.io/app-token-secret"], SecretOf(container, "APP_API_TOKEN"));

            Assert.Equal(ServiceDefaultsExtensions.HealthPath, (string?)container["readinessProbe"]?["httpGet"]?["path"]);
            Assert.Equal(ServiceDefaultsExtensions.AlivePath, (string?)container["livenessProbe"]?["httpGet"]?["path"]);
            Assert.Equal(ServiceDefaultsExtensions.AlivePath, (string?)container["startupProbe"]?["httpGet"]?["path"]);
            Assert.All(Probes, p => Assert.True(IsDeclared(container[p]!["httpGet"]!["port"], ContainerPorts(deployment)), $"{app}: {p} port"));
            foreach (var path in new[] { "requests", "limits" })
            {
                Assert.False(string.IsNullOrEmpty((string?)container["resources"]?[path]?["cpu"]), $"{app}: resources.{path}.cpu");
                Assert.False(string.IsNullOrEmpty((string?)container["resources"]?[path]?["memory"]), $"{app}: resources.{path}.memory");
            }
        }

        foreach (var workload in deployments.Concat(rendering.OfKind("Job")))
        {
            var pod = PodSpec(workload);
            Assert.True((bool?)pod["securityContext"]?["runAsNonRoot"], Name(workload));
            Assert.Equal("RuntimeDefault", (string?)pod["securityContext"]?["seccompProfile"]?["type"]);
            var security = Assert.Single(pod["containers"]!.AsArray())!["securityContext"];
            Assert.True((bool?)security?["readOnlyRootFilesystem"], Name(workload));
            Assert.False((bool?)security?["allowPrivilegeEscalation"] ?? true, Name(workload));
            Assert.Equal(["ALL"], Strings(security?["capabilities"]?["drop"]));
        }
    }

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task Annotations_labels_and_environment_values_are_strings(string valueSet)
    {
        // Kubernetes rejects a bare true or number there ("cannot unmarshal bool into ... of type string").
        var rendering = await HelmRenderer.RenderAsync(valueSet);
        foreach (var document in rendering.Documents)
        {
            foreach (var metadata in document.Object.Descendants("metadata"))
            {
                foreach (var map in new[] { metadata["annotations"], metadata["labels"] }.OfType<JsonObject>())
                {
                    Assert.All(map, a => Assert.True(a.Value?.GetValueKind() == JsonValueKind.String, $"{document.Source}: {a.Key} is {a.Value?.ToJsonString()}"));
                }
            }

            foreach (var env in document.Object.DescendantArrays("env"))
            {
                foreach (var variable in env)
                {
                    Assert.True(variable!["value"]?.GetValueKind() == JsonValueKind.String ^ variable["valueFrom"] is not null, $"{document.Source}: {variable.ToJsonString()}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task Every_secret_reference_names_a_secret_and_key_from_the_values(string valueSet)
    {
        var rendering = await HelmRenderer.RenderAsync(valueSet);
        var leaves = Leaves(rendering.Values, "").ToList();
        var secretNames = leaves.Where(l => l.Path.EndsWith(".secretName", StringComparison.Ordinal) || (l.Path.StartsWith("secrets.", StringComparison.Ordinal) && l.Path.EndsWith(".name", StringComparison.Ordinal))).Select(l => l.Value).ToHashSet(StringComparer.Ordinal);
        var secretKeys = leaves.Where(l => l.Path.EndsWith("Key", StringComparison.Ordinal) || (l.Path.StartsWith("secrets.", StringComparison.Ordinal) && l.Path.EndsWith(".key", StringComparison.Ordinal))).Select(l => l.Value).Append("token").ToHashSet(StringComparer.Ordinal);
        var references = rendering.Documents.SelectMany(d => d.Object.Descendants("secretKeyRef").Select(r => (d.Source, Ref: r))).ToList();
        Assert.NotEmpty(references);
        foreach (var (source, reference) in references)
        {
            Assert.Contains((string?)reference["name"] ?? "", secretNames);
            Assert.Contains((string?)reference["key"] ?? "", secretKeys);
            Assert.Equal(2, reference.Count); // name and key, nothing else (a misplaced line would land here)
        }

        // The API and app tokens: the key is Dapr's "token", the names the values' secrets.
        foreach (var annotation in rendering.OfKind("Deployment").SelectMany(d => d["spec"]!["template"]!["metadata"]!["annotations"]!.AsObject()).Where(a => a.Key.EndsWith("-token-secret", StringComparison.Ordinal)))
        {
            Assert.Contains((string?)annotation.Value ?? "", secretNames);
        }
    }

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task The_migration_job_is_a_pre_install_and_pre_upgrade_hook_running_the_command_service_migrate_command(string valueSet)
    {
        var rendering = await HelmRenderer.RenderAsync(valueSet);
        var enabled = (bool?)rendering.Values["migrations"]?["enabled"] == true;
        Assert.Equal(enabled ? 1 : 0, rendering.OfKind("Job").Count());
        foreach (var job in rendering.OfKind("Job"))
        {
            var annotations = job["metadata"]!["annotations"]!;
            Assert.Equal(["pre-install", "pre-upgrade"], ((string)annotations["helm.sh/hook"]!).Split(',').Order(StringComparer.Ordinal));
            Assert.Contains("before-hook-creation", ((string)annotations["helm.sh/hook-delete-policy"]!).Split(','));
            Assert.Equal("false", (string?)job["spec"]!["template"]!["metadata"]?["annotations"]?["dapr.io/enabled"]); // no sidecar: the Job would never complete
            Assert.Equal("Never", (string?)PodSpec(job)["restartPolicy"]);
            var container = Assert.Single(PodSpec(job)["containers"]!.AsArray())!;
            Assert.Equal(["migrate"], Strings(container["args"]));
            var command = Assert.Single(PodSpec(rendering.OfKind("Deployment").Single(d => Name(d) == DaprNames.CommandService))["containers"]!.AsArray())!;
            Assert.Equal((string?)command["image"], (string?)container["image"]);
            Assert.Equal(Env(command, "ConnectionStrings__writedb")!.ToJsonString(), Env(container, "ConnectionStrings__writedb")?.ToJsonString());
        }
    }

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task Dapr_resources_have_their_required_structure_and_scope_deployed_app_ids(string valueSet)
    {
        var rendering = await HelmRenderer.RenderAsync(valueSet);
        var appIds = rendering.OfKind("Deployment").Select(d => (string)d["spec"]!["template"]!["metadata"]!["annotations"]!["dapr.io/app-id"]!).ToHashSet(StringComparer.Ordinal);
        var components = rendering.OfKind("Component").ToList();
        var viewsInDapr = (string?)rendering.Values["queryService"]!["viewStore"]!["provider"] == "dapr"; // else in Cosmos DB, no viewstore
        Assert.Equal(viewsInDapr ? [DaprNames.ActorStore, DaprNames.PubSub, DaprNames.ViewStore] : [DaprNames.ActorStore, DaprNames.PubSub], components.Select(Name).Order(StringComparer.Ordinal));
        foreach (var component in components)
        {
            var spec = component["spec"]!;
            Assert.Matches(@"^(pubsub|state)\.[a-z.]+$", (string?)spec["type"]);
            Assert.Equal("v1", (string?)spec["version"]);
            foreach (var item in spec["metadata"]!.AsArray())
            {
                Assert.False(string.IsNullOrEmpty((string?)item!["name"]), Name(component));
                Assert.True(item["value"]?.GetValueKind() == JsonValueKind.String ^ item["secretKeyRef"] is not null, $"{Name(component)}: {item.ToJsonString()}");
            }

            Assert.NotEmpty(Strings(component["scopes"]));
            Assert.Subset(appIds, Strings(component["scopes"]).ToHashSet(StringComparer.Ordinal));
        }

        var pubsub = components.Single(c => Name(c) == DaprNames.PubSub);
        Assert.StartsWith("pubsub.", (string?)pubsub["spec"]!["type"], StringComparison.Ordinal);
        Assert.All(components.Where(c => Name(c) == DaprNames.ViewStore), viewstore => Assert.StartsWith("state.", (string?)viewstore["spec"]!["type"], StringComparison.Ordinal));
        Assert.Contains(components.Single(c => Name(c) == DaprNames.ActorStore)["spec"]!["metadata"]!.AsArray(), m => (string?)m!["name"] == "actorStateStore" && (string?)m["value"] == "true");

        foreach (var subscription in rendering.OfKind("Subscription"))
        {
            var spec = subscription["spec"]!;
            Assert.Equal("dapr.io/v2alpha1", (string?)subscription["apiVersion"]);
            Assert.Equal(DaprNames.PubSub, (string?)spec["pubsubname"]);
            Assert.False(string.IsNullOrEmpty((string?)spec["topic"]));
            Assert.StartsWith("/", (string?)spec["routes"]?["default"], StringComparison.Ordinal);
            if (spec["bulkSubscribe"] is { } bulk)
            {
                Assert.Contains(bulk["enabled"]!.GetValueKind(), new[] { JsonValueKind.True, JsonValueKind.False });
                Assert.True((int?)bulk["maxMessagesCount"] > 0);
                Assert.True((int?)bulk["maxAwaitDurationMs"] > 0);
            }

            Assert.Subset(appIds, Strings(subscription["scopes"]).ToHashSet(StringComparer.Ordinal));
            Assert.Contains(DaprNames.QueryService, Strings(subscription["scopes"]));
        }

        var resiliency = Assert.Single(rendering.OfKind("Resiliency"));
        var policies = resiliency["spec"]!["policies"]!;
        foreach (var target in resiliency["spec"]!["targets"]!["components"]!.AsObject())
        {
            Assert.Contains(target.Key, components.Select(Name));
            foreach (var direction in target.Value!.AsObject())
            {
                foreach (var (kind, policy) in new[] { ("retry", "retries"), ("timeout", "timeouts"), ("circuitBreaker", "circuitBreakers") })
                {
                    if ((string?)direction.Value![kind] is { } named)
                    {
                        Assert.True(policies[policy]?[named] is not null, $"resiliency {target.Key}.{direction.Key}.{kind}: no {policy}.{named}");
                    }
                }
            }
        }

        Assert.Subset(appIds, Strings(resiliency["scopes"]).ToHashSet(StringComparer.Ordinal));
        var configuration = Assert.Single(rendering.OfKind("Configuration"));
        Assert.Equal(HelmRenderer.Namespace, (string?)configuration["spec"]!["accessControl"]!["policies"]![0]!["namespace"]);
        Assert.Contains((string?)configuration["spec"]!["accessControl"]!["policies"]![0]!["appId"] ?? "", appIds);
        if (configuration["spec"]!["tracing"] is { } tracing)
        {
            Assert.Equal(JsonValueKind.String, tracing["samplingRate"]!.GetValueKind());
            Assert.True((string?)tracing["otel"]!["protocol"] is "grpc" or "http", tracing.ToJsonString());
            Assert.Contains(tracing["otel"]!["isSecure"]!.GetValueKind(), new[] { JsonValueKind.True, JsonValueKind.False });
        }
    }

    [Theory]
    [InlineData("pubsub.type=nats", "pubsub.type must be redis, kafka or azure.servicebus")]
    [InlineData("viewstore.type=mongodb", "viewstore.type must be postgresql or azure.cosmosdb")]
    [InlineData("gateway.image.tag=", "image.tag is required")]
    [InlineData("pubsub.kafka.authType=oidc", "pubsub.kafka.authType must be none or password")]
    [InlineData("queryService.viewStore.provider=mongodb", "queryService.viewStore.provider must be dapr or cosmos, not mongodb")]
    [InlineData("queryService.viewStore.cosmos.endpoint=", "queryService.viewStore.cosmos.endpoint is required")]
    [InlineData("queryService.viewStore.cosmos.createIfNotExists=true,queryService.viewStore.cosmos.secretName=", "createIfNotExists needs the account key")]
    public async Task A_wrong_value_fails_the_render_with_its_message(string set, string message)
    {
        string[] context = set.StartsWith("pubsub.kafka", StringComparison.Ordinal) ? ["--set", "pubsub.type=kafka"]
            : set.StartsWith("queryService.viewStore.cosmos", StringComparison.Ordinal) ? ["--set", "queryService.viewStore.provider=cosmos"]
            : [];
        var (code, _, error) = await HelmRenderer.RunAsync([.. context, .. set.Split(',').SelectMany(pair => new[] { "--set", pair })]);
        Assert.NotEqual(0, code);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ValueSets))]
    public async Task The_query_service_reads_its_view_store_provider_and_the_cosmos_settings_from_the_values(string valueSet)
    {
        var rendering = await HelmRenderer.RenderAsync(valueSet);
        var views = rendering.Values["queryService"]!["viewStore"]!;
        var cosmos = views["cosmos"]!;
        var deployment = rendering.OfKind("Deployment").Single(d => Name(d) == "query-service");
        var env = PodSpec(deployment)["containers"]![0]!["env"]!.AsArray().Select(e => e!.AsObject()).ToDictionary(e => (string)e["name"]!, StringComparer.Ordinal);

        var viewstoreComponents = rendering.OfKind("Component").Count(c => Name(c) == "viewstore");
        if ((string?)views["provider"] != "cosmos")
        {
            Assert.DoesNotContain(env.Keys, name => name.StartsWith("ViewStore__", StringComparison.Ordinal)); // the service's default: Dapr
            Assert.Equal(1, viewstoreComponents);
            return;
        }

        Assert.Equal(0, viewstoreComponents); // views, generations and dead letters all in Cosmos DB: no state store needed

        Assert.Equal("Cosmos", (string?)env["ViewStore__Provider"]["value"]);
        Assert.Equal((string?)cosmos["endpoint"], (string?)env["ViewStore__Cosmos__Endpoint"]["value"]);
        Assert.Equal((string?)cosmos["container"], (string?)env["ViewStore__Cosmos__Container"]["value"]);
        Assert.Equal(cosmos["partitionBuckets"]!.ToString(), (string?)env["ViewStore__Cosmos__PartitionBuckets"]["value"]);
        Assert.Equal((string?)cosmos["connectionMode"], (string?)env["ViewStore__Cosmos__ConnectionMode"]["value"]);
        if ((string?)cosmos["secretName"] is { Length: > 0 } secret)
        {
            var key = env["ViewStore__Cosmos__AccountKey"]["valueFrom"]!["secretKeyRef"]!;
            Assert.Equal(secret, (string?)key["name"]);
            Assert.Equal((string?)cosmos["accountKeyKey"], (string?)key["key"]);
        }
        else
        {
            Assert.False(env.ContainsKey("ViewStore__Cosmos__AccountKey")); // Entra ID: the pod's workload identity
            Assert.Equal((string?)cosmos["managedIdentityClientId"], (string?)env["ViewStore__Cosmos__ManagedIdentityClientId"]["value"]);
        }

        // The labels a workload identity needs reach the pods (and the selector still matches them).
        var podLabels = PodLabels(deployment);
        foreach (var (label, value) in rendering.Values["queryService"]!["podLabels"]!.AsObject())
        {
            Assert.Equal((string?)value, podLabels[label]);
        }
    }

    [Fact]
    public async Task A_kubernetes_older_than_the_chart_requires_fails_the_render()
    {
        var (code, _, error) = await HelmRenderer.RunAsync("--kube-version", "v1.29.5");
        Assert.NotEqual(0, code);
        Assert.Contains("incompatible with Kubernetes v1.29.5", error, StringComparison.Ordinal);
    }

    private static string Name(JsonObject o) => (string?)o["metadata"]?["name"] ?? "";

    private static JsonObject PodSpec(JsonObject workload) => workload["spec"]!["template"]!["spec"]!.AsObject();

    private static Dictionary<string, string> PodLabels(JsonObject deployment) => Labels(deployment["spec"]?["template"]?["metadata"]?["labels"]);

    private static Dictionary<string, string> Labels(JsonNode? node) =>
        node is JsonObject map ? map.ToDictionary(l => l.Key, l => (string?)l.Value ?? "", StringComparer.Ordinal) : [];

    private static bool Matches(Dictionary<string, string> selector, Dictionary<string, string> labels) =>
        selector.Count > 0 && selector.All(s => labels.TryGetValue(s.Key, out var value) && value == s.Value);

    /// <summary>The container ports of a pod template: (name, number).</summary>
    private static List<(string? Name, int Port)> ContainerPorts(JsonObject workload) =>
        [.. PodSpec(workload)["containers"]!.AsArray().SelectMany(c => c!["ports"]?.AsArray() ?? []).Select(p => ((string?)p!["name"], (int)p["containerPort"]!))];

    /// <summary>Whether a port reference (a name or a number) is one of these container ports.</summary>
    private static bool IsDeclared(JsonNode? port, List<(string? Name, int Port)> ports) =>
        port?.GetValueKind() == JsonValueKind.String ? ports.Any(p => p.Name == (string?)port) : ports.Any(p => p.Port == (int?)port);

    private static IReadOnlyList<string> Strings(JsonNode? node) => node is JsonArray array ? [.. array.Select(n => (string?)n ?? "")] : [];

    private static JsonObject? Env(JsonNode container, string name) =>
        container["env"]?.AsArray().OfType<JsonObject>().SingleOrDefault(e => (string?)e["name"] == name);

    private static string? SecretOf(JsonNode container, string variable) =>
        Env(container, variable) is { } env ? (string?)env["valueFrom"]?["secretKeyRef"]?["name"] : null;

    /// <summary>The scalar leaves of the values, as dotted paths with their text.</summary>
    private static IEnumerable<(string Path, string Value)> Leaves(JsonObject map, string prefix) =>
        map.SelectMany(c =>
        {
            var path = prefix.Length == 0 ? c.Key : $"{prefix}.{c.Key}";
            return c.Value switch
            {
                JsonObject child => Leaves(child, path),
                JsonValue value => [(path, value.ToString())],
                _ => [],
            };
        });
}

/// <summary>Walks a decoded object.</summary>
internal static class JsonWalk
{
    /// <summary>Every object-valued property named <paramref name="key"/> anywhere below <paramref name="node"/>.</summary>
    public static IEnumerable<JsonObject> Descendants(this JsonNode node, string key) => Walk(node, key).OfType<JsonObject>();

    /// <summary>Every array-valued property named <paramref name="key"/> anywhere below <paramref name="node"/>.</summary>
    public static IEnumerable<JsonArray> DescendantArrays(this JsonNode node, string key) => Walk(node, key).OfType<JsonArray>();

    private static IEnumerable<JsonNode> Walk(JsonNode node, string key) => node switch
    {
        JsonObject map => map.SelectMany(p => p.Value is null ? [] : (p.Key == key ? [p.Value] : Enumerable.Empty<JsonNode>()).Concat(Walk(p.Value, key))),
        JsonArray array => array.OfType<JsonNode>().SelectMany(n => Walk(n, key)),
        _ => [],
    };
}
