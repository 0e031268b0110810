using CqrsDapr.DaprEmulator.Components;
using CqrsDapr.DaprEmulator.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace CqrsDapr.DaprEmulator.Tests.Components;

public sealed class ResourceLoaderTests : IDisposable
{
    private readonly Resources resources = new();

    public void Dispose() => resources.Dispose();

    private LoadedResources Load(string appId = "app1", IReadOnlyDictionary<string, string>? env = null, string? config = null) =>
        new ResourceLoader(appId, k => env?.GetValueOrDefault(k), NullLogger.Instance).Load([resources.Path], config);

    [Fact]
    public void Components_scoped_to_other_apps_are_not_loaded()
    {
        resources.Component("mine", "state.in-memory", scopes: ["app1"])
            .Component("theirs", "state.in-memory", scopes: ["app2"])
            .Component("everyones", "pubsub.in-memory");

        var loaded = Load();

        Assert.Equal(["everyones", "mine"], loaded.Components.Select(c => c.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Several_documents_in_one_file_are_all_read()
    {
        resources.Add("""
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata: { name: a }
            spec: { type: state.in-memory, version: v1 }
            ---
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata: { name: b }
            spec: { type: pubsub.in-memory, version: v1 }
            """);

        Assert.Equal(["a", "b"], Load().Components.Select(c => c.Name));
    }

    [Fact]
    public void Secret_key_refs_resolve_through_a_local_env_secret_store_with_its_prefix()
    {
        resources.Add("""
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata: { name: envsecrets }
            spec:
              type: secretstores.local.env
              version: v1
              metadata:
              - name: prefix
                value: CQRS_
            ---
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata: { name: store }
            spec:
              type: state.postgresql
              version: v1
              metadata:
              - name: connectionString
                secretKeyRef: { name: PG, key: PG }
            auth:
              secretStore: envsecrets
            """);

        var loaded = Load(env: new Dictionary<string, string> { ["CQRS_PG"] = "Host=db" });

        Assert.Equal("Host=db", loaded.Components.Single(c => c.Name == "store").Get("connectionString"));
    }

    [Fact]
    public void Secret_key_refs_without_a_store_read_the_environment()
    {
        resources.Add("""
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata: { name: store }
            spec:
              type: state.postgresql
              version: v1
              metadata:
              - name: connectionString
                secretKeyRef: { name: PG_CONN }
            """);

        Assert.Equal("Host=x", Load(env: new Dictionary<string, string> { ["PG_CONN"] = "Host=x" }).Components[0].Get("connectionString"));
    }

    [Fact]
    public void A_missing_secret_fails_with_the_component_and_secret_named()
    {
        resources.Add("""
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata: { name: store }
            spec:
              type: state.postgresql
              version: v1
              metadata:
              - name: connectionString
                secretKeyRef: { name: NOT_SET }
            """);

        var error = Assert.Throws<ResourceException>(() => Load());
        Assert.Contains("store", error.Message, StringComparison.Ordinal);
        Assert.Contains("NOT_SET", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Declarative_subscriptions_v2_and_v1_are_read_with_rules_in_order_and_default_last()
    {
        resources.Add("""
            apiVersion: dapr.io/v2alpha1
            kind: Subscription
            metadata: { name: s1 }
            spec:
              pubsubname: pubsub
              topic: orders
              routes:
                rules:
                - match: event.type == "order.v2"
                  path: /orders/v2
                default: /orders
              deadLetterTopic: orders-dead
              metadata: { rawPayload: "true" }
            scopes: [app1]
            ---
            apiVersion: dapr.io/v1alpha1
            kind: Subscription
            metadata: { name: s2 }
            spec: { pubsubname: pubsub, topic: legacy, route: /legacy }
            """);

        var subscriptions = Load().Subscriptions;

        var v2 = subscriptions.Single(s => s.Topic == "orders");
        Assert.Equal([new SubscriptionRule("event.type == \"order.v2\"", "/orders/v2"), new SubscriptionRule("", "/orders")], v2.Rules);
        Assert.Equal("orders-dead", v2.DeadLetterTopic);
        Assert.True(v2.RawPayload);
        Assert.Equal([new SubscriptionRule("", "/legacy")], subscriptions.Single(s => s.Topic == "legacy").Rules);
    }

    [Fact]
    public void Resiliency_policies_are_attached_to_their_component_targets()
    {
        resources.Add("""
            apiVersion: dapr.io/v1alpha1
            kind: Resiliency
            metadata: { name: r }
            spec:
              policies:
                timeouts: { quick: 2s }
                retries:
                  pubsubRetry: { policy: constant, duration: 250ms, maxRetries: 3 }
              targets:
                components:
                  pubsub:
                    inbound: { retry: pubsubRetry, timeout: quick }
            """);

        var policies = Load().ComponentPolicies["pubsub"];

        Assert.Equal(3, policies.InboundRetry!.MaxRetries);
        Assert.Equal(TimeSpan.FromMilliseconds(250), policies.InboundRetry.Duration);
        Assert.Equal(TimeSpan.FromSeconds(2), policies.InboundTimeout);
        Assert.Null(policies.OutboundRetry);
    }

    [Fact]
    public void The_config_file_enables_features_and_other_sections_are_only_warned_about()
    {
        var config = Path.Combine(resources.Path, "..", $"config-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(config, """
            apiVersion: dapr.io/v1alpha1
            kind: Configuration
            metadata: { name: appconfig }
            spec:
              tracing: { samplingRate: "1" }
              features:
              - { name: ActorStateTTL, enabled: true }
              - { name: HotReload, enabled: false }
            """);
        try
        {
            Assert.Equal(["ActorStateTTL"], Load(config: config).Features);
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public void A_missing_resources_path_is_an_error()
    {
        var loader = new ResourceLoader("app1", _ => null, NullLogger.Instance);
        Assert.Throws<ResourceException>(() => loader.Load(["/no/such/dir"], null));
    }
}
