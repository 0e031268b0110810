using CqrsDapr.TestSupport;
using YamlDotNet.RepresentationModel;

namespace CqrsDapr.Deployment.Tests;

/// <summary>The YAML documents of <c>components/</c> and <c>dapr.yaml</c>, parsed as daprd would read them.</summary>
internal static class DaprResourceFiles
{
    public static string ComponentsPath => Path.Combine(RepositoryPaths.Root, "components");

    /// <summary>Every document of every <c>components/*.yaml</c>, with its file name.</summary>
    public static IReadOnlyList<(string File, YamlMappingNode Document)> Components() =>
        [.. Directory.EnumerateFiles(ComponentsPath, "*.yaml").Order(StringComparer.Ordinal)
            .SelectMany(file => Documents(file).Select(doc => (Path.GetFileName(file), doc)))];

    public static IEnumerable<YamlMappingNode> Documents(string file)
    {
        using var reader = new StreamReader(file);
        var stream = new YamlStream();
        stream.Load(reader);
        return stream.Documents.Select(d => (YamlMappingNode)d.RootNode).ToList();
    }

    public static YamlMappingNode? Map(YamlNode? node, string key) =>
        node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value as YamlMappingNode : null;

    public static string? Scalar(YamlNode? node, string key) =>
        node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? (value as YamlScalarNode)?.Value : null;

    public static IReadOnlyList<string> Sequence(YamlNode? node, string key) =>
        node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is YamlSequenceNode seq
            ? [.. seq.Children.OfType<YamlScalarNode>().Select(s => s.Value ?? "")]
            : [];

    public static string Kind(YamlMappingNode doc) => Scalar(doc, "kind") ?? "";

    public static string Name(YamlMappingNode doc) => Scalar(Map(doc, "metadata"), "name") ?? "";
}
