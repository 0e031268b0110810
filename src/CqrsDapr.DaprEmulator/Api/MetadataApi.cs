using System.Text.Json.Nodes;
using ActorRuntimeHost = CqrsDapr.DaprEmulator.Actors.ActorRuntime;
using CqrsDapr.DaprEmulator.Components;
using CqrsDapr.DaprEmulator.Hosting;
using CqrsDapr.DaprEmulator.PubSub;
using CqrsDapr.DaprEmulator.State;
using Dapr.Client.Autogen.Grpc.v1;

namespace CqrsDapr.DaprEmulator.Api;

/// <summary>The metadata API (daprd 1.16 <c>GetMetadata</c> / <c>GET /v1.0/metadata</c>), shared by gRPC and HTTP.</summary>
internal sealed class MetadataApi(
    EmulatorOptions options,
    ComponentRegistry registry,
    LoadedResources resources,
    ActorRuntimeHost actors,
    SubscriptionManager subscriptions,
    SidecarStatus status)
{
    /// <summary>The daprd version whose behaviour the emulator follows.</summary>
    public const string RuntimeVersion = "1.16.0-emulator";

    public GetMetadataResponse ToGrpc()
    {
        var response = new GetMetadataResponse
        {
            Id = options.AppId,
            RuntimeVersion = RuntimeVersion,
            ActorRuntime = new ActorRuntime
            {
                RuntimeStatus = status.Ready ? ActorRuntime.Types.ActorRuntimeStatus.Running : ActorRuntime.Types.ActorRuntimeStatus.Initializing,
                HostReady = registry.ActorStateStore is not null && status.Ready,
                Placement = "emulator: single sidecar, no placement",
            },
        };
        response.EnabledFeatures.AddRange(resources.Features);
        foreach (var (type, count) in actors.ActiveActorCounts)
        {
            response.ActorRuntime.ActiveActors.Add(new ActiveActorsCount { Type = type, Count = count });
        }

        foreach (var component in registry.Loaded)
        {
            var item = new RegisteredComponents { Name = component.Name, Type = component.Type, Version = component.Version };
            item.Capabilities.AddRange(Capabilities(component));
            response.RegisteredComponents.Add(item);
        }

        foreach (var subscription in subscriptions.Active)
        {
            var item = new PubsubSubscription
            {
                PubsubName = subscription.PubSubName,
                Topic = subscription.Topic,
                DeadLetterTopic = subscription.DeadLetterTopic ?? "",
                Type = subscription.Source.StartsWith("declarative", StringComparison.Ordinal) ? PubsubSubscriptionType.Declarative : PubsubSubscriptionType.Programmatic,
                Rules = new PubsubSubscriptionRules(),
            };
            foreach (var (key, value) in subscription.Metadata)
            {
                item.Metadata[key] = value;
            }

            item.Rules.Rules.AddRange(subscription.Rules.Select(r => new PubsubSubscriptionRule { Match = r.Match, Path = r.Path }));
            response.Subscriptions.Add(item);
        }

        response.ExtendedMetadata["daprRuntimeVersion"] = RuntimeVersion;
        if (options.AppPort is { } port)
        {
            response.AppConnectionProperties = new AppConnectionProperties
            {
                Port = port,
                Protocol = options.AppProtocol,
                ChannelAddress = options.AppChannelAddress,
                MaxConcurrency = Math.Max(options.AppMaxConcurrency, 0),
            };
        }

        return response;
    }

    /// <summary>The same content in the HTTP API's JSON shape.</summary>
    public JsonObject ToJson()
    {
        var grpc = ToGrpc();
        var json = new JsonObject
        {
            ["id"] = grpc.Id,
            ["runtimeVersion"] = grpc.RuntimeVersion,
            ["enabledFeatures"] = new JsonArray(grpc.EnabledFeatures.Select(f => (JsonNode?)JsonValue.Create(f)).ToArray()),
            ["actorRuntime"] = new JsonObject
            {
                ["runtimeStatus"] = grpc.ActorRuntime.RuntimeStatus.ToString().ToUpperInvariant(),
                ["activeActors"] = new JsonArray(grpc.ActorRuntime.ActiveActors.Select(a => (JsonNode?)new JsonObject { ["type"] = a.Type, ["count"] = a.Count }).ToArray()),
                ["hostReady"] = grpc.ActorRuntime.HostReady,
                ["placement"] = grpc.ActorRuntime.Placement,
            },
            ["components"] = new JsonArray(grpc.RegisteredComponents.Select(c => (JsonNode?)new JsonObject
            {
                ["name"] = c.Name,
                ["type"] = c.Type,
                ["version"] = c.Version,
                ["capabilities"] = new JsonArray(c.Capabilities.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray()),
            }).ToArray()),
            ["subscriptions"] = new JsonArray(subscriptions.Active.Select(s => (JsonNode?)new JsonObject
            {
                ["pubsubname"] = s.PubSubName,
                ["topic"] = s.Topic,
                ["deadLetterTopic"] = s.DeadLetterTopic,
                ["rules"] = new JsonArray(s.Rules.Select(r => (JsonNode?)new JsonObject { ["match"] = r.Match, ["path"] = r.Path }).ToArray()),
                ["type"] = s.Source.StartsWith("declarative", StringComparison.Ordinal) ? "DECLARATIVE" : "PROGRAMMATIC",
            }).ToArray()),
            ["extended"] = new JsonObject { ["daprRuntimeVersion"] = RuntimeVersion },
        };
        if (grpc.AppConnectionProperties is { } app)
        {
            json["appConnectionProperties"] = new JsonObject
            {
                ["port"] = app.Port,
                ["protocol"] = app.Protocol,
                ["channelAddress"] = app.ChannelAddress,
                ["maxConcurrency"] = app.MaxConcurrency,
            };
        }

        return json;
    }

    private IEnumerable<string> Capabilities(ComponentDefinition component)
    {
        if (registry.StateStores.TryGetValue(component.Name, out var store))
        {
            var features = store.Store.Features;
            if (features.HasFlag(StateFeatures.ETag))
            {
                yield return "ETAG";
            }

            if (features.HasFlag(StateFeatures.Transactional))
            {
                yield return "TRANSACTIONAL";
            }

            if (features.HasFlag(StateFeatures.Query))
            {
                yield return "QUERY_API";
            }

            if (features.HasFlag(StateFeatures.Ttl))
            {
                yield return "TTL";
            }

            if (store.IsActorStateStore)
            {
                yield return "ACTOR";
            }
        }
    }
}
