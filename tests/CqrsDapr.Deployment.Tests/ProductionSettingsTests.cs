using System.Globalization;
using System.Text.Json.Nodes;

namespace CqrsDapr.Deployment.Tests;

/// <summary>
/// The chart's production settings, as rendered with its defaults (values.yaml alone): trace sampling (the sidecars'
/// Configuration and every app's OpenTelemetry sampler at the same rate) and log levels (the apps'
/// <c>Logging__LogLevel__Default</c>, the sidecars' <c>dapr.io/log-level</c>). The AppHost's production profile reads the
/// same values from values.yaml; tests/CqrsDapr.AppHost.Tests checks it runs with them (RunProfileTests).
/// </summary>
public sealed class ProductionSettingsTests
{
    [Fact]
    public async Task Every_app_samples_traces_parent_based_at_the_sidecars_rate_which_is_below_every_request_by_default()
    {
        var rendering = await HelmRenderer.RenderAsync(HelmRenderer.Default);
        var rate = (string?)rendering.Values["dapr"]!["tracing"]!["samplingRate"];
        Assert.NotNull(rate);
        Assert.InRange(double.Parse(rate, CultureInfo.InvariantCulture), 0.0001, 0.5); // production: a fraction, not every span

        var configuration = Assert.Single(rendering.OfKind("Configuration"));
        Assert.Equal(rate, (string?)configuration["spec"]!["tracing"]!["samplingRate"]);
        foreach (var (app, env) in AppEnvironments(rendering))
        {
            Assert.True(env.TryGetValue("OTEL_TRACES_SAMPLER", out var sampler), $"{app}: no OTEL_TRACES_SAMPLER");
            Assert.Equal("parentbased_traceidratio", sampler);
            Assert.True(env.TryGetValue("OTEL_TRACES_SAMPLER_ARG", out var argument), $"{app}: no OTEL_TRACES_SAMPLER_ARG");
            Assert.Equal(rate, argument);
            Assert.True(env.TryGetValue("Telemetry__MaxTracesPerSecond", out var cap), $"{app}: no Telemetry__MaxTracesPerSecond");
            Assert.Equal((string?)rendering.Values["dapr"]!["tracing"]!["maxTracesPerSecond"], cap);
            Assert.InRange(int.Parse(cap!, CultureInfo.InvariantCulture), 1, 1000);
        }
    }

    [Fact]
    public async Task Every_app_logs_at_the_log_level_value_and_every_sidecar_at_the_dapr_log_level_value()
    {
        var rendering = await HelmRenderer.RenderAsync(HelmRenderer.Default);
        var logLevel = (string?)rendering.Values["logLevel"];
        var daprLogLevel = (string?)rendering.Values["dapr"]!["logLevel"];
        Assert.Equal("Warning", logLevel);
        Assert.Equal("info", daprLogLevel);
        foreach (var (app, env) in AppEnvironments(rendering))
        {
            Assert.True(env.TryGetValue("Logging__LogLevel__Default", out var level), $"{app}: no Logging__LogLevel__Default");
            Assert.Equal(logLevel, level);
        }

        foreach (var deployment in rendering.OfKind("Deployment"))
        {
            Assert.Equal(daprLogLevel, (string?)deployment["spec"]!["template"]!["metadata"]!["annotations"]!["dapr.io/log-level"]);
        }
    }

    [Fact]
    public async Task Without_tracing_the_apps_get_no_sampler_but_keep_their_log_level()
    {
        var (code, yaml, error) = await HelmRenderer.RunAsync("--name", HelmRenderer.ReleaseName, "--namespace", HelmRenderer.Namespace,
            "--set", "dapr.tracing.enabled=false", "--set", "logLevel=Information");
        Assert.True(code == 0, error);
        Assert.DoesNotContain("OTEL_TRACES_SAMPLER", yaml, StringComparison.Ordinal);
        Assert.Equal(3, yaml.Split("name: Logging__LogLevel__Default\n", StringSplitOptions.None).Length - 1);
        Assert.Contains("value: \"Information\"", yaml, StringComparison.Ordinal);
    }

    /// <summary>Each deployment's app container's plain environment values.</summary>
    private static IEnumerable<(string App, Dictionary<string, string> Env)> AppEnvironments(Rendering rendering)
    {
        var deployments = rendering.OfKind("Deployment").ToList();
        Assert.Equal(3, deployments.Count);
        foreach (var deployment in deployments)
        {
            var container = Assert.Single(deployment["spec"]!["template"]!["spec"]!["containers"]!.AsArray())!;
            var env = container["env"]!.AsArray()
                .OfType<JsonObject>()
                .Where(variable => variable["value"] is not null)
                .ToDictionary(variable => (string)variable["name"]!, variable => (string)variable["value"]!, StringComparer.Ordinal);
            yield return ((string?)deployment["metadata"]?["name"] ?? "", env);
        }
    }
}
