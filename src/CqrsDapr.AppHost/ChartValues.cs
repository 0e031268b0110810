using YamlDotNet.RepresentationModel;

namespace CqrsDapr.AppHost;

/// <summary>The Helm chart's <c>values.yaml</c>, read once: its scalars by path (<c>dapr</c>, <c>tracing</c>, <c>samplingRate</c>).</summary>
internal sealed class ChartValues
{
    private readonly YamlMappingNode? root;

    private ChartValues(string path, YamlMappingNode? root)
    {
        Path = path;
        this.root = root;
    }

    public string Path { get; }

    /// <param name="purpose">What the values are read for, for the error when the file is missing.</param>
    public static ChartValues Load(string valuesPath, string purpose)
    {
        if (!File.Exists(valuesPath))
        {
            throw new InvalidOperationException($"The AppHost reads {purpose} from the Helm chart's defaults, {valuesPath}, which is missing.");
        }

        var stream = new YamlStream();
        using (var text = new StreamReader(valuesPath))
        {
            stream.Load(text);
        }

        return new ChartValues(valuesPath, stream.Documents.Count > 0 ? stream.Documents[0].RootNode as YamlMappingNode : null);
    }

    /// <summary>The scalar at <paramref name="path"/>, or null when there is none (or it is empty).</summary>
    public string? Scalar(params string[] path)
    {
        YamlNode? node = root;
        foreach (var key in path)
        {
            node = node is YamlMappingNode mapping && mapping.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child : null;
        }

        return node is YamlScalarNode { Value: { Length: > 0 } value } ? value : null;
    }
}
