using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using CqrsDapr.TestSupport;
using YamlDotNet.RepresentationModel;

namespace CqrsDapr.Deployment.Tests;

/// <summary>
/// The files of <c>charts/cqrs-dapr</c>, read without helm (none is installed here). A template is not YAML until
/// rendered, so <see cref="Flatten"/> turns it into YAML in three small, stated steps, close enough to a render with
/// the default values to check the chart's structure and its literal settings:
/// <list type="number">
/// <item>a line holding only a template action is dropped (includes, <c>toYaml</c>, <c>fail</c>, comments);</item>
/// <item>of each <c>if</c>/<c>else if</c>/<c>else</c> chain only the FIRST branch is kept (the chart writes the
/// default first: Redis, PostgreSQL, and every optional resource enabled), and a <c>range</c> or <c>with</c> body is
/// kept once;</item>
/// <item>an inline action that is just <c>.Values.a.b</c> (optionally <c>| quote</c>) becomes that value from
/// <c>values.yaml</c>; any other inline action becomes the scalar <see cref="Placeholder"/>.</item>
/// </list>
/// What needs a real render (helpers' output, <c>toYaml</c> blocks, every branch, the range items) is not seen by
/// tests built on this; they check the template text or <c>values.yaml</c> for those instead.
/// </summary>
internal static partial class HelmChartFiles
{
    public const string Placeholder = "TEMPLATE";

    public static string ChartPath => Path.Combine(RepositoryPaths.Root, "charts", "cqrs-dapr");

    public static string TemplatesPath => Path.Combine(ChartPath, "templates");

    public static YamlMappingNode Values { get; } = Load(Path.Combine(ChartPath, "values.yaml")).Single();

    /// <summary>The manifest templates (not the <c>_helpers.tpl</c> partials), by file name.</summary>
    public static IReadOnlyList<string> TemplateFiles =>
        [.. Directory.EnumerateFiles(TemplatesPath, "*.yaml").Order(StringComparer.Ordinal)];

    /// <summary>Every template file, partials included, as text.</summary>
    public static IReadOnlyList<(string File, string Text)> AllTemplateTexts =>
        [.. Directory.EnumerateFiles(TemplatesPath).Order(StringComparer.Ordinal).Select(f => (Path.GetFileName(f), File.ReadAllText(f)))];

    /// <summary>The documents of every manifest template, flattened, with their file names.</summary>
    public static IReadOnlyList<(string File, YamlMappingNode Document)> Manifests() =>
        [.. TemplateFiles.SelectMany(f => Parse(Flatten(File.ReadAllText(f))).Select(d => (Path.GetFileName(f), d)))];

    public static IReadOnlyList<YamlMappingNode> Load(string file) => Parse(File.ReadAllText(file));

    public static IReadOnlyList<YamlMappingNode> Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return [.. stream.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>()];
    }

    /// <summary>The node at a dotted path of <c>values.yaml</c>, or null.</summary>
    public static YamlNode? Lookup(string dottedPath)
    {
        YamlNode? node = Values;
        foreach (var key in dottedPath.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            node = node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child : null;
        }

        return node;
    }

    public static string LookupScalar(string dottedPath) =>
        (Lookup(dottedPath) as YamlScalarNode)?.Value ?? throw new InvalidOperationException($"values.yaml has no scalar {dottedPath}");

    /// <summary>Every <c>.Values.a.b</c> path a template text uses (as <c>.Values</c>, <c>$.Values</c> or <c>.root.Values</c>).</summary>
    public static IEnumerable<string> ValuesPaths(string text) =>
        ValuesPath().Matches(text).Select(m => m.Groups[1].Value.TrimStart('.'));

    /// <summary>A template turned into YAML as described on the class.</summary>
    public static string Flatten(string template)
    {
        var output = new StringBuilder();
        var kept = new Stack<bool>(); // one entry per open block: whether its current branch is kept
        foreach (var line in template.Split('\n'))
        {
            if (WholeLineAction().Match(line) is { Success: true } whole)
            {
                var keyword = whole.Groups[1].Value.Split(' ', 2)[0];
                switch (keyword)
                {
                    case "if" or "range" or "with":
                        kept.Push(true);
                        break;
                    case "else":
                        kept.Pop();
                        kept.Push(false);
                        break;
                    case "end":
                        kept.Pop();
                        break;
                }

                continue;
            }

            if (kept.All(k => k))
            {
                output.Append(InlineAction().Replace(line, m => Substitute(m.Groups[1].Value))).Append('\n');
            }
        }

        return output.ToString();
    }

    private static string Substitute(string action)
    {
        var match = SimpleValue().Match(action);
        if (!match.Success || Lookup(match.Groups[1].Value) is not YamlScalarNode { Value: { } value })
        {
            return Placeholder;
        }

        return match.Groups[2].Success ? $"\"{value}\"" : value;
    }

    /// <summary>A scalar as an int (for numbers written as numbers or as quoted strings).</summary>
    public static int Int(string? text) => int.Parse(text ?? throw new ArgumentNullException(nameof(text)), CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^\s*\{\{-?\s*(.*?)\s*-?\}\}\s*$")]
    private static partial Regex WholeLineAction();

    [GeneratedRegex(@"\{\{-?\s*(.*?)\s*-?\}\}")]
    private static partial Regex InlineAction();

    [GeneratedRegex(@"^\.Values\.([A-Za-z0-9_.]+)\s*(\|\s*quote)?$")]
    private static partial Regex SimpleValue();

    [GeneratedRegex(@"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")]
    private static partial Regex ValuesPath();
}
