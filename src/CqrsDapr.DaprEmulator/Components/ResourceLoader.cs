using System.Globalization;
using Microsoft.Extensions.Logging;
using YamlDotNet.RepresentationModel;

namespace CqrsDapr.DaprEmulator.Components;

/// <summary>
/// Reads the same YAML daprd reads from <c>--resources-path</c> (daprd 1.16 standalone loader): every
/// <c>*.yaml</c>/<c>*.yml</c> file, several documents per file, kinds <c>Component</c>, <c>Subscription</c>
/// (v1alpha1 and v2alpha1), <c>Resiliency</c> and <c>Configuration</c>. Resources scoped to other app-ids are skipped.
/// </summary>
internal sealed partial class ResourceLoader(string appId, Func<string, string?> environment, ILogger logger)
{
    public LoadedResources Load(IReadOnlyList<string> resourcesPaths, string? configPath)
    {
        var components = new List<ComponentDefinition>();
        var subscriptions = new List<SubscriptionDefinition>();
        var policies = new Dictionary<string, ComponentPolicies>(StringComparer.Ordinal);
        var features = new HashSet<string>(StringComparer.Ordinal);
        var rawComponents = new List<(YamlMappingNode Node, string File)>();

        foreach (var path in resourcesPaths)
        {
            if (!Directory.Exists(path))
            {
                throw new ResourceException($"resources path '{path}' does not exist");
            }

            foreach (var file in Directory.EnumerateFiles(path).Where(IsYaml).Order(StringComparer.Ordinal))
            {
                foreach (var doc in ReadDocuments(file))
                {
                    var kind = Scalar(doc, "kind");
                    if (!InScope(doc))
                    {
                        var name = Scalar(Map(doc, "metadata"), "name") ?? "?";
                        LogOutOfScope(logger, kind ?? "resource", name, appId);
                        continue;
                    }

                    switch (kind)
                    {
                        case "Component":
                            rawComponents.Add((doc, file));
                            break;
                        case "Subscription":
                            subscriptions.Add(ReadSubscription(doc, file));
                            break;
                        case "Resiliency":
                            ReadResiliency(doc, policies);
                            break;
                        case "Configuration":
                            ReadConfiguration(doc, file, features);
                            break;
                        default:
                            LogIgnoredKind(logger, kind ?? "(none)", file);
                            break;
                    }
                }
            }
        }

        if (configPath is not null)
        {
            if (!File.Exists(configPath))
            {
                throw new ResourceException($"configuration file '{configPath}' does not exist");
            }

            foreach (var doc in ReadDocuments(configPath).Where(d => Scalar(d, "kind") == "Configuration"))
            {
                ReadConfiguration(doc, configPath, features);
            }
        }

        // Secret stores first: other components may reference them through auth.secretStore.
        var secretStores = rawComponents
            .Where(c => (Scalar(Map(c.Node, "spec"), "type") ?? "").StartsWith("secretstores.", StringComparison.Ordinal))
            .Select(c => ReadComponent(c.Node, c.File, secretStores: null))
            .ToList();
        var resolver = new SecretResolver(secretStores, environment);
        foreach (var (node, file) in rawComponents)
        {
            var type = Scalar(Map(node, "spec"), "type") ?? "";
            components.Add(type.StartsWith("secretstores.", StringComparison.Ordinal)
                ? secretStores.First(s => s.SourceFile == file && s.Name == Scalar(Map(node, "metadata"), "name"))
                : ReadComponent(node, file, resolver));
        }

        var duplicate = components.GroupBy(c => c.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ResourceException($"duplicate definition of component '{duplicate.Key}' in {string.Join(", ", duplicate.Select(c => c.SourceFile))}");
        }

        return new LoadedResources(components, subscriptions, policies, features);
    }

    private static bool IsYaml(string file) =>
        file.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || file.EndsWith(".yml", StringComparison.OrdinalIgnoreCase);

    private static List<YamlMappingNode> ReadDocuments(string file)
    {
        var stream = new YamlStream();
        try
        {
            using var reader = File.OpenText(file);
            stream.Load(reader);
        }
        catch (YamlDotNet.Core.YamlException ex)
        {
            throw new ResourceException($"cannot parse '{file}': {ex.Message}");
        }

        return stream.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>().ToList();
    }

    private bool InScope(YamlMappingNode doc)
    {
        var scopes = Sequence(doc, "scopes");
        return scopes.Count == 0 || scopes.Contains(appId, StringComparer.Ordinal);
    }

    private static ComponentDefinition ReadComponent(YamlMappingNode doc, string file, SecretResolver? secretStores)
    {
        var name = Scalar(Map(doc, "metadata"), "name") ?? throw new ResourceException($"component in '{file}' has no metadata.name");
        var spec = Map(doc, "spec") ?? throw new ResourceException($"component '{name}' in '{file}' has no spec");
        var type = Scalar(spec, "type") ?? throw new ResourceException($"component '{name}' in '{file}' has no spec.type");
        var secretStore = Scalar(Map(doc, "auth"), "secretStore");
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (spec.Children.TryGetValue(new YamlScalarNode("metadata"), out var items) && items is YamlSequenceNode seq)
        {
            foreach (var item in seq.OfType<YamlMappingNode>())
            {
                var key = Scalar(item, "name") ?? throw new ResourceException($"component '{name}' has a metadata item without a name");
                var secretRef = Map(item, "secretKeyRef");
                if (secretRef is not null)
                {
                    if (secretStores is null)
                    {
                        throw new ResourceException($"secret store '{name}' cannot itself use secretKeyRef");
                    }

                    var secretName = Scalar(secretRef, "name") ?? throw new ResourceException($"component '{name}' metadata '{key}': secretKeyRef needs a name");
                    metadata[key] = secretStores.Resolve(secretStore, secretName, Scalar(secretRef, "key") ?? secretName, name);
                }
                else
                {
                    metadata[key] = ValueText(item) ?? "";
                }
            }
        }

        var initTimeout = TimeSpan.FromSeconds(5);
        if (Scalar(spec, "initTimeout") is { } timeoutText)
        {
            initTimeout = GoDuration.Parse(timeoutText);
        }

        return new ComponentDefinition(
            name,
            type,
            Scalar(spec, "version") ?? "v1",
            metadata,
            Sequence(doc, "scopes"),
            string.Equals(Scalar(spec, "ignoreErrors"), "true", StringComparison.OrdinalIgnoreCase),
            initTimeout,
            file);
    }

    private static string? ValueText(YamlMappingNode item)
    {
        if (!item.Children.TryGetValue(new YamlScalarNode("value"), out var value))
        {
            return null;
        }

        return value switch
        {
            YamlScalarNode s => s.Value,
            // daprd accepts structured values and passes them to the component as JSON text.
            _ => System.Text.Json.JsonSerializer.Serialize(YamlToObject(value)),
        };
    }

    private static object? YamlToObject(YamlNode node) => node switch
    {
        YamlScalarNode s => s.Value,
        YamlSequenceNode seq => seq.Select(YamlToObject).ToList(),
        YamlMappingNode map => map.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value ?? "", kv => YamlToObject(kv.Value)),
        _ => null,
    };

    private static SubscriptionDefinition ReadSubscription(YamlMappingNode doc, string file)
    {
        var name = Scalar(Map(doc, "metadata"), "name") ?? "?";
        var spec = Map(doc, "spec") ?? throw new ResourceException($"subscription '{name}' in '{file}' has no spec");
        var pubsub = Scalar(spec, "pubsubname") ?? throw new ResourceException($"subscription '{name}' has no spec.pubsubname");
        var topic = Scalar(spec, "topic") ?? throw new ResourceException($"subscription '{name}' has no spec.topic");
        var rules = new List<SubscriptionRule>();
        var routes = Map(spec, "routes");
        if (routes is not null)
        {
            if (routes.Children.TryGetValue(new YamlScalarNode("rules"), out var ruleNodes) && ruleNodes is YamlSequenceNode ruleSeq)
            {
                rules.AddRange(ruleSeq.OfType<YamlMappingNode>().Select(r => new SubscriptionRule(Scalar(r, "match") ?? "", Scalar(r, "path") ?? "")));
            }

            if (Scalar(routes, "default") is { Length: > 0 } defaultRoute)
            {
                rules.Add(new SubscriptionRule("", defaultRoute));
            }
        }
        else if (Scalar(spec, "route") is { Length: > 0 } route)
        {
            // v1alpha1 (deprecated): a single route.
            rules.Add(new SubscriptionRule("", route));
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Map(spec, "metadata") is { } meta)
        {
            foreach (var (k, v) in meta.Children)
            {
                metadata[((YamlScalarNode)k).Value ?? ""] = (v as YamlScalarNode)?.Value ?? "";
            }
        }

        var bulk = Map(spec, "bulkSubscribe");
        return new SubscriptionDefinition(
            pubsub,
            topic,
            rules,
            Scalar(spec, "deadLetterTopic") is { Length: > 0 } dlq ? dlq : null,
            metadata,
            new BulkSubscribeSettings(
                string.Equals(Scalar(bulk, "enabled"), "true", StringComparison.OrdinalIgnoreCase),
                Int(bulk, "maxMessagesCount", name),
                Int(bulk, "maxAwaitDurationMs", name)),
            $"declarative:{file}");
    }

    private static int Int(YamlMappingNode? node, string key, string subscription)
    {
        var text = Scalar(node, key);
        if (string.IsNullOrEmpty(text))
        {
            return 0;
        }

        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new ResourceException($"subscription '{subscription}': bulkSubscribe.{key} '{text}' is not an integer");
    }

    private void ReadResiliency(YamlMappingNode doc, Dictionary<string, ComponentPolicies> result)
    {
        var spec = Map(doc, "spec");
        var policies = Map(spec, "policies");
        var retries = new Dictionary<string, RetryPolicy>(StringComparer.Ordinal);
        if (Map(policies, "retries") is { } retryNodes)
        {
            foreach (var (key, value) in retryNodes.Children)
            {
                var name = ((YamlScalarNode)key).Value ?? "";
                var node = (YamlMappingNode)value;
                retries[name] = new RetryPolicy(
                    name,
                    string.Equals(Scalar(node, "policy"), "exponential", StringComparison.OrdinalIgnoreCase),
                    Scalar(node, "duration") is { } d ? GoDuration.Parse(d) : TimeSpan.FromSeconds(5),
                    Scalar(node, "maxInterval") is { } mi ? GoDuration.Parse(mi) : TimeSpan.FromSeconds(60),
                    Scalar(node, "maxRetries") is { } mr ? int.Parse(mr, CultureInfo.InvariantCulture) : -1);
            }
        }

        var timeouts = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
        if (Map(policies, "timeouts") is { } timeoutNodes)
        {
            foreach (var (key, value) in timeoutNodes.Children)
            {
                timeouts[((YamlScalarNode)key).Value ?? ""] = GoDuration.Parse(((YamlScalarNode)value).Value ?? "0s");
            }
        }

        if (Map(policies, "circuitBreakers") is { Children.Count: > 0 })
        {
            LogNotEmulated(logger, "Resiliency circuitBreakers");
        }

        if (Map(Map(spec, "targets"), "components") is not { } componentTargets)
        {
            return;
        }

        foreach (var (key, value) in componentTargets.Children)
        {
            var component = ((YamlScalarNode)key).Value ?? "";
            var target = (YamlMappingNode)value;
            var inbound = Map(target, "inbound");
            var outbound = Map(target, "outbound");
            RetryPolicy? Retry(YamlMappingNode? dir) => Scalar(dir, "retry") is { } r
                ? retries.GetValueOrDefault(r) ?? throw new ResourceException($"resiliency retry policy '{r}' is not defined")
                : null;
            TimeSpan? Timeout(YamlMappingNode? dir) => Scalar(dir, "timeout") is { } t
                ? timeouts.TryGetValue(t, out var named) ? named : GoDuration.Parse(t)
                : null;
            result[component] = new ComponentPolicies(Retry(inbound), Timeout(inbound), Retry(outbound), Timeout(outbound));
        }
    }

    private void ReadConfiguration(YamlMappingNode doc, string file, HashSet<string> features)
    {
        var spec = Map(doc, "spec");
        if (spec is null)
        {
            return;
        }

        foreach (var (key, value) in spec.Children)
        {
            var section = ((YamlScalarNode)key).Value;
            if (section == "features" && value is YamlSequenceNode list)
            {
                foreach (var feature in list.OfType<YamlMappingNode>())
                {
                    if (string.Equals(Scalar(feature, "enabled"), "true", StringComparison.OrdinalIgnoreCase) && Scalar(feature, "name") is { } f)
                    {
                        features.Add(f);
                    }
                }
            }
            else
            {
                LogConfigurationIgnored(logger, section ?? "?", file);
            }
        }
    }

    internal static YamlMappingNode? Map(YamlMappingNode? node, string key) =>
        node is not null && node.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child as YamlMappingNode : null;

    internal static string? Scalar(YamlMappingNode? node, string key) =>
        node is not null && node.Children.TryGetValue(new YamlScalarNode(key), out var child) ? (child as YamlScalarNode)?.Value : null;

    private static List<string> Sequence(YamlMappingNode? node, string key) =>
        node is not null && node.Children.TryGetValue(new YamlScalarNode(key), out var child) && child is YamlSequenceNode seq
            ? seq.OfType<YamlScalarNode>().Select(s => s.Value ?? "").ToList()
            : [];

    [LoggerMessage(Level = LogLevel.Debug, Message = "Skipping {Kind} '{Name}': not scoped to app '{AppId}'")]
    private static partial void LogOutOfScope(ILogger logger, string kind, string name, string appId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignoring resource of kind '{Kind}' in {File}: not emulated")]
    private static partial void LogIgnoredKind(ILogger logger, string kind, string file);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Configuration section '{Section}' in {File} is read but not emulated")]
    private static partial void LogConfigurationIgnored(ILogger logger, string section, string file);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{What} is read but not emulated")]
    private static partial void LogNotEmulated(ILogger logger, string what);
}

internal sealed class ResourceException(string message) : Exception(message);
