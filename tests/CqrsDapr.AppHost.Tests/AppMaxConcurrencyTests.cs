using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace CqrsDapr.AppHost.Tests;

/// <summary>
/// Every sidecar the AppHost runs, daprd or the emulator, in either profile, lets at most its service's
/// <c>dapr.appMaxConcurrency</c> of the Helm chart's values.yaml calls into the app at once (<c>--app-max-concurrency</c>),
/// as the chart's <c>dapr.io/app-max-concurrency</c> does. The model is built, never started.
/// </summary>
public sealed class AppMaxConcurrencyTests : IDisposable
{
    private static readonly Dictionary<string, string> Sections = new(StringComparer.Ordinal)
    {
        ["command-service"] = "commandService",
        ["query-service"] = "queryService",
    };

    private readonly TestDirectories directories = new();

    public void Dispose() => directories.Dispose();

    public static TheoryData<string, string> Runs => new()
    {
        { "daprd", "development" },
        { "daprd", "production" },
        { "emulator", "development" },
        { "emulator", "production" },
    };

    [Theory]
    [MemberData(nameof(Runs))]
    public async Task Each_sidecar_gets_its_services_value_from_the_charts_values(string sidecar, string profile)
    {
        directories.Install("daprd", "placement", "scheduler");
        await using var model = await AppHostModel.BuildAsync(directories.Args($"--CqrsDapr:Sidecar={sidecar}", $"--CqrsDapr:Profile={profile}"));

        foreach (var (app, section) in Sections)
        {
            var args = await model.ArgsAsync($"{app}-dapr");
            Assert.Single(args, a => a == "--app-max-concurrency");
            Assert.Equal(ValueInChart(section), args[args.ToList().IndexOf("--app-max-concurrency") + 1]);
        }
    }

    /// <summary><c>{section}.dapr.appMaxConcurrency</c> of charts/cqrs-dapr/values.yaml, read here on its own.</summary>
    private static string ValueInChart(string section)
    {
        var values = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "charts", "cqrs-dapr", "values.yaml"));
        var stream = new YamlStream();
        using (var reader = new StreamReader(values))
        {
            stream.Load(reader);
        }

        var node = (YamlMappingNode)stream.Documents[0].RootNode;
        var dapr = (YamlMappingNode)((YamlMappingNode)node.Children[new YamlScalarNode(section)]).Children[new YamlScalarNode("dapr")];
        var value = ((YamlScalarNode)dapr.Children[new YamlScalarNode("appMaxConcurrency")]).Value!;
        Assert.True(int.Parse(value, CultureInfo.InvariantCulture) > 0, $"{section}.dapr.appMaxConcurrency is {value}");
        return value;
    }
}
