using System.Globalization;
using System.Text.Json.Nodes;
using CqrsDapr.Gateway;
using CqrsDapr.Gateway.Admission;

namespace CqrsDapr.Deployment.Tests;

/// <summary>
/// The chart's <c>gateway.admission</c> values: their defaults are the gateway's own (one source: the gateway's
/// <see cref="AdmissionSettings"/>, repeated in values.yaml and checked here), and whatever is set reaches the gateway
/// as its <c>Gateway__Admission__*</c> environment.
/// </summary>
public sealed class GatewayAdmissionValuesTests
{
    [Fact]
    public async Task The_defaults_in_values_yaml_are_the_gateways_own_and_reach_its_environment()
    {
        var rendering = await HelmRenderer.RenderAsync(HelmRenderer.Default);
        var defaults = new GatewayOptions().Admission;

        var values = FromValues(rendering.Values["gateway"]!["admission"]!);

        Assert.Equal(Environment(defaults), Environment(values));
        Assert.Equal(Environment(defaults), AdmissionEnvironment(rendering.Documents.Select(d => d.Object)));
    }

    [Fact]
    public async Task Values_set_at_install_reach_the_gateway()
    {
        var set = new AdmissionSettings
        {
            Reads = new SideLimits { ConcurrencyLimit = 7, QueueLimit = 0 },
            Writes = new SideLimits { ConcurrencyLimit = 3, QueueLimit = 11 },
            RetryAfterSeconds = 5,
            MaxClientConnections = 300,
        };

        var (code, json, error) = await HelmRenderer.RunAsync(
            "--name", HelmRenderer.ReleaseName, "--namespace", HelmRenderer.Namespace, "--json",
            "--set", "gateway.admission.reads.concurrencyLimit=7", "--set", "gateway.admission.reads.queueLimit=0",
            "--set", "gateway.admission.writes.concurrencyLimit=3", "--set", "gateway.admission.writes.queueLimit=11",
            "--set", "gateway.admission.retryAfterSeconds=5", "--set", "gateway.admission.maxClientConnections=300");

        Assert.True(code == 0, error);
        var documents = JsonNode.Parse(json)!["documents"]!.AsArray().Select(d => d!["object"]!.AsObject());
        Assert.Equal(Environment(set), AdmissionEnvironment(documents));
    }

    private static AdmissionSettings FromValues(JsonNode admission) => new()
    {
        Reads = new SideLimits { ConcurrencyLimit = Int(admission["reads"]?["concurrencyLimit"]), QueueLimit = Int(admission["reads"]?["queueLimit"]) },
        Writes = new SideLimits { ConcurrencyLimit = Int(admission["writes"]?["concurrencyLimit"]), QueueLimit = Int(admission["writes"]?["queueLimit"]) },
        RetryAfterSeconds = Int(admission["retryAfterSeconds"]),
        MaxClientConnections = Int(admission["maxClientConnections"]),
    };

    private static int Int(JsonNode? node) =>
        int.Parse(node?.ToString() ?? throw new InvalidOperationException("a gateway.admission value is missing"), CultureInfo.InvariantCulture);

    /// <summary>The environment that carries these settings to the gateway (configuration keys with <c>__</c>).</summary>
    private static SortedDictionary<string, string> Environment(AdmissionSettings settings) => new(StringComparer.Ordinal)
    {
        ["Gateway__Admission__Reads__ConcurrencyLimit"] = Text(settings.Reads.ConcurrencyLimit),
        ["Gateway__Admission__Reads__QueueLimit"] = Text(settings.Reads.QueueLimit),
        ["Gateway__Admission__Writes__ConcurrencyLimit"] = Text(settings.Writes.ConcurrencyLimit),
        ["Gateway__Admission__Writes__QueueLimit"] = Text(settings.Writes.QueueLimit),
        ["Gateway__Admission__RetryAfterSeconds"] = Text(settings.RetryAfterSeconds),
        ["Gateway__Admission__MaxClientConnections"] = Text(settings.MaxClientConnections),
    };

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>The gateway container's <c>Gateway__Admission__*</c> variables, each exactly once, as plain values.</summary>
    private static SortedDictionary<string, string> AdmissionEnvironment(IEnumerable<JsonObject> documents)
    {
        var gateway = documents.Single(d => (string?)d["kind"] == "Deployment" && (string?)d["metadata"]?["name"] == "gateway");
        var container = Assert.Single(gateway["spec"]!["template"]!["spec"]!["containers"]!.AsArray())!;
        var variables = container["env"]!.AsArray().OfType<JsonObject>()
            .Where(variable => ((string?)variable["name"])?.StartsWith("Gateway__Admission__", StringComparison.Ordinal) == true)
            .ToList();
        Assert.All(variables, variable => Assert.Equal(System.Text.Json.JsonValueKind.String, variable["value"]?.GetValueKind()));
        return new SortedDictionary<string, string>(
            variables.ToDictionary(variable => (string)variable["name"]!, variable => (string)variable["value"]!, StringComparer.Ordinal), StringComparer.Ordinal);
    }
}
