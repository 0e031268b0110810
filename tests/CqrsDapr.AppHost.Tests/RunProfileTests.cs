using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using YamlDotNet.RepresentationModel;

namespace CqrsDapr.AppHost.Tests;

/// <summary>
/// <c>CqrsDapr:Profile</c> (<c>--profile</c>): development, the default, is the developer's view (every span);
/// production runs the system as the Helm chart does, with the chart's defaults read from
/// <c>charts/cqrs-dapr/values.yaml</c> (checked here against that file; tests/CqrsDapr.Deployment.Tests checks the
/// rendered chart sets the same), Release builds only. Neither puts a proxy on any endpoint. The model is built, never
/// started.
/// </summary>
public sealed class RunProfileTests : IDisposable
{
    private static readonly string[] Apps = ["command-service", "query-service", "gateway"];
    private static readonly string[] Production = ["--profile", "production"];

    private readonly TestDirectories directories = new();

    public void Dispose() => directories.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The chart's defaults, read from values.yaml independently of the AppHost.</summary>
    private static (string SamplingRate, string MaxTracesPerSecond, string LogLevel, string DaprLogLevel) Chart()
    {
        var path = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "charts", "cqrs-dapr", "values.yaml"));
        var yaml = new YamlStream();
        using (var reader = new StreamReader(path))
        {
            yaml.Load(reader);
        }

        var root = (YamlMappingNode)yaml.Documents.Single().RootNode;
        var dapr = (YamlMappingNode)root["dapr"];
        var tracing = (YamlMappingNode)dapr["tracing"];
        return (((YamlScalarNode)tracing["samplingRate"]).Value!,
            ((YamlScalarNode)tracing["maxTracesPerSecond"]).Value!,
            ((YamlScalarNode)root["logLevel"]).Value!,
            ((YamlScalarNode)dapr["logLevel"]).Value!);
    }

    private static IEnumerable<(string Resource, EndpointAnnotation Endpoint)> AllEndpoints(AppHostModel model) =>
        model.ResourceNames.SelectMany(name => model.Resource(name).Annotations.OfType<EndpointAnnotation>().Select(endpoint => (name, endpoint)));

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task In_the_production_profile_no_endpoint_of_any_resource_is_proxied(bool daprd)
    {
        if (daprd)
        {
            directories.Install("daprd", "placement", "scheduler");
        }

        await using var model = await AppHostModel.BuildAsync(directories.Args(Production));

        var endpoints = AllEndpoints(model).ToList();
        foreach (var resource in (string[])[.. Apps, "command-service-dapr", "query-service-dapr", "writedb", "readdb", "redis", .. daprd ? new[] { "dapr-placement", "dapr-scheduler" } : []])
        {
            Assert.Contains(endpoints, e => e.Resource == resource);
        }

        Assert.All(endpoints, e => Assert.False(e.Endpoint.IsProxied, $"{e.Resource}.{e.Endpoint.Name} is proxied"));
    }

    [Fact]
    public async Task In_the_production_profile_the_gateway_listens_itself_on_the_port_set_for_it()
    {
        await using var model = await AppHostModel.BuildAsync(directories.Args([.. Production, "--CqrsDapr:Ports:gateway=18080"]));

        var http = Assert.Single(model.Resource("gateway").Annotations.OfType<EndpointAnnotation>());
        Assert.False(http.IsProxied);
        Assert.Equal(18080, http.Port);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task In_the_development_profile_no_endpoint_of_any_resource_is_proxied_either(bool daprd)
    {
        // DCP runs the proxies in its own process: on every hop under load, it ran out of file descriptors.
        if (daprd)
        {
            directories.Install("daprd", "placement", "scheduler");
        }

        await using var model = await AppHostModel.BuildAsync(directories.Args());

        var endpoints = AllEndpoints(model).ToList();
        foreach (var resource in (string[])[.. Apps, "command-service-dapr", "query-service-dapr", "writedb", "readdb", "redis", .. daprd ? new[] { "dapr-placement", "dapr-scheduler" } : []])
        {
            Assert.Contains(endpoints, e => e.Resource == resource);
        }

        Assert.All(endpoints, e => Assert.False(e.Endpoint.IsProxied, $"{e.Resource}.{e.Endpoint.Name} is proxied"));
    }

    [Fact]
    public async Task In_the_development_profile_the_gateway_listens_itself_on_8080_or_the_port_set_for_it()
    {
        await using (var byDefault = await AppHostModel.BuildAsync([.. directories.Args().Where(arg => !arg.StartsWith("--CqrsDapr:Ports:gateway", StringComparison.Ordinal))]))
        {
            var http = Assert.Single(byDefault.Resource("gateway").Annotations.OfType<EndpointAnnotation>());
            Assert.False(http.IsProxied);
            Assert.Equal(8080, http.Port);
        }

        await using var set = await AppHostModel.BuildAsync(directories.Args("--CqrsDapr:Ports:gateway=18080"));
        var endpoint = Assert.Single(set.Resource("gateway").Annotations.OfType<EndpointAnnotation>());
        Assert.False(endpoint.IsProxied);
        Assert.Equal(18080, endpoint.Port);
    }

    [Fact]
    public async Task In_the_production_profile_the_apps_sample_traces_and_log_at_the_charts_defaults_as_production()
    {
        var chart = Chart();
        await using var model = await AppHostModel.BuildAsync(directories.Args(Production));

        foreach (var app in Apps)
        {
            var env = await model.EnvironmentAsync(app);
            Assert.Equal("parentbased_traceidratio", env.GetValueOrDefault("OTEL_TRACES_SAMPLER"));
            Assert.Equal(chart.SamplingRate, env.GetValueOrDefault("OTEL_TRACES_SAMPLER_ARG"));
            Assert.Equal(chart.MaxTracesPerSecond, env.GetValueOrDefault("Telemetry__MaxTracesPerSecond"));
            Assert.Equal(chart.LogLevel, env.GetValueOrDefault("Logging__LogLevel__Default"));
            Assert.Equal("Production", env.GetValueOrDefault("ASPNETCORE_ENVIRONMENT"));
            Assert.Equal("Production", env.GetValueOrDefault("DOTNET_ENVIRONMENT"));
            Assert.DoesNotContain("OTEL_BSP_SCHEDULE_DELAY", env.Keys);
            Assert.DoesNotContain("OTEL_BLRP_SCHEDULE_DELAY", env.Keys);
            Assert.DoesNotContain("OTEL_METRIC_EXPORT_INTERVAL", env.Keys);
            Assert.True(env.ContainsKey("OTEL_EXPORTER_OTLP_ENDPOINT"), $"{app} exports no telemetry"); // still to the dashboard
        }

        // The migration job of the chart keeps its Information log (what it applied), as here.
        var migrations = await model.EnvironmentAsync("migrations");
        Assert.Equal("Production", migrations.GetValueOrDefault("DOTNET_ENVIRONMENT"));
        Assert.DoesNotContain("Logging__LogLevel__Default", migrations.Keys);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task In_the_production_profile_the_sidecars_log_at_the_charts_dapr_log_level(bool daprd)
    {
        if (daprd)
        {
            directories.Install("daprd", "placement", "scheduler");
        }

        var chart = Chart();
        await using var model = await AppHostModel.BuildAsync(directories.Args(Production));

        foreach (var sidecar in new[] { "command-service-dapr", "query-service-dapr" })
        {
            var args = await model.ArgsAsync(sidecar);
            Assert.Single(args, a => a == "--log-level");
            Assert.Equal(chart.DaprLogLevel, args[args.ToList().IndexOf("--log-level") + 1]);
        }
    }

    [Fact]
    public async Task In_the_production_profile_daprd_samples_at_the_charts_rate()
    {
        directories.Install("daprd", "placement", "scheduler");
        await using (await AppHostModel.BuildAsync(directories.Args(Production)))
        {
        }

        var yaml = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(directories.Data, "dapr", "config.yaml")))
        {
            yaml.Load(reader);
        }

        var tracing = (YamlMappingNode)((YamlMappingNode)((YamlMappingNode)yaml.Documents.Single().RootNode)["spec"])["tracing"];
        Assert.Equal(Chart().SamplingRate, ((YamlScalarNode)tracing["samplingRate"]).Value);
    }

    [Fact]
    public async Task In_the_development_profile_the_apps_and_sidecars_keep_their_own_settings()
    {
        await using var model = await AppHostModel.BuildAsync(directories.Args());

        foreach (var app in Apps)
        {
            var env = await model.EnvironmentAsync(app);
            Assert.NotEqual("parentbased_traceidratio", env.GetValueOrDefault("OTEL_TRACES_SAMPLER"));
            Assert.DoesNotContain("OTEL_TRACES_SAMPLER_ARG", env.Keys);
            Assert.DoesNotContain("Telemetry__MaxTracesPerSecond", env.Keys);
            Assert.DoesNotContain("Logging__LogLevel__Default", env.Keys);
            Assert.NotEqual("Production", env.GetValueOrDefault("DOTNET_ENVIRONMENT"));
        }

        Assert.DoesNotContain("--log-level", await model.ArgsAsync("command-service-dapr"));
    }

    [Fact]
    public async Task An_unknown_profile_stops_the_build_naming_the_two()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => AppHostModel.BuildAsync(directories.Args("--CqrsDapr:Profile=fast")));
        Assert.Contains("CqrsDapr:Profile is 'fast': use development (the default) or production.", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Only_a_release_build_may_run_the_production_profile()
    {
        Assert.Null(RunProfile.Refusal("Release"));
        var refusal = RunProfile.Refusal("Debug");
        Assert.NotNull(refusal);
        Assert.StartsWith("error: the AppHost did not start: the production profile runs Release builds, and this AppHost is a Debug build.", refusal, StringComparison.Ordinal);
        Assert.Contains("dotnet run -c Release --project src/CqrsDapr.AppHost -- --profile production", refusal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_debug_build_is_refused_at_start_in_the_production_profile_before_any_process_runs()
    {
        Assert.SkipWhen(RunProfile.BuildConfiguration == "Release", "this AppHost is a Release build: the production profile may start");
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.CqrsDapr_AppHost>(
            directories.Args(Production), (options, _) => options.DisableDashboard = true, Ct);
        await using var app = await builder.BuildAsync(Ct);

        var error = await Assert.ThrowsAsync<ProfileRefusedException>(() => app.StartAsync(Ct));

        Assert.Equal(RunProfile.Refusal(RunProfile.BuildConfiguration), error.Message);
        Assert.False(Directory.Exists(Path.Combine(directories.Data, "writedb")), "the start went on: PostgreSQL's data directory was made");
    }
}
