using System.Text.RegularExpressions;

namespace CqrsDapr.AppHost.Tests;

/// <summary>
/// Which sidecar the AppHost runs (<c>CqrsDapr:Sidecar</c>, <c>CqrsDapr:DaprBinDirectory</c>) and with what: daprd
/// with every port allocated and its control plane, or the emulator. The model is built, never started; the Dapr
/// binaries are stand-ins in a directory of the test's own.
/// </summary>
public sealed partial class SidecarChoiceTests : IDisposable
{
    private static readonly string[] Apps = ["command-service", "query-service"];
    private static readonly string[] DaprBinaries = ["daprd", "placement", "scheduler"];

    /// <summary>Dapr's default ports (http, grpc, internal grpc, placement, scheduler, healthz, metrics, raft, etcd, profiling).</summary>
    private static readonly string[] DefaultPorts = [":3500", ":50001", ":50002", ":50005", ":50006", ":8080", ":9090", ":8201", ":2379", ":2380", ":7777"];

    private readonly TestDirectories directories = new();

    public void Dispose() => directories.Dispose();

    /// <summary>The value following <paramref name="flag"/> (asserting it is given once).</summary>
    private static string Flag(IReadOnlyList<string> args, string flag)
    {
        Assert.Single(args, a => a == flag);
        var index = args.ToList().IndexOf(flag);
        Assert.True(index + 1 < args.Count, $"{flag} has no value");
        return args[index + 1];
    }

    [Fact]
    public async Task With_daprd_placement_and_scheduler_installed_each_app_gets_a_daprd_sidecar_with_its_flags()
    {
        directories.Install(DaprBinaries);
        await using var model = await AppHostModel.BuildAsync(directories.Args());

        var components = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "components"));
        foreach (var app in Apps)
        {
            var sidecar = $"{app}-dapr";
            Assert.Equal(Path.Combine(directories.Bin, "daprd"), model.Executable(sidecar).Command);
            var args = await model.ArgsAsync(sidecar);
            Assert.Equal(app, Flag(args, "--app-id"));
            Assert.Equal($"{{{app}.http.Port}}", Flag(args, "--app-port"));
            Assert.Equal("http", Flag(args, "--app-protocol"));
            Assert.Equal($"{{{sidecar}.http.TargetPort}}", Flag(args, "--dapr-http-port"));
            Assert.Equal($"{{{sidecar}.grpc.TargetPort}}", Flag(args, "--dapr-grpc-port"));
            Assert.Equal($"{{{sidecar}.internal-grpc.TargetPort}}", Flag(args, "--dapr-internal-grpc-port"));
            Assert.Equal($"{{{sidecar}.metrics.TargetPort}}", Flag(args, "--metrics-port"));
            Assert.Equal("127.0.0.1:{dapr-placement.grpc.TargetPort}", Flag(args, "--placement-host-address"));
            Assert.Equal("127.0.0.1:{dapr-scheduler.grpc.TargetPort}", Flag(args, "--scheduler-host-address"));
            Assert.Equal(components, Path.GetFullPath(Flag(args, "--resources-path")));
            Assert.Equal(Path.Combine(directories.Data, "dapr", "config.yaml"), Flag(args, "--config"));
            Assert.Contains("--enable-api-logging=false", args);
            Assert.DoesNotContain(args, a => a.Contains("DaprEmulator", StringComparison.Ordinal));
            Assert.Equal(["http", "grpc", "internal-grpc", "metrics"], model.Endpoints(sidecar));
            Assert.Contains("dapr-placement", model.WaitsFor(sidecar));
            Assert.Contains("dapr-scheduler", model.WaitsFor(sidecar));
            Assert.Contains(sidecar, model.WaitsFor(app));
        }
    }

    [Fact]
    public async Task The_control_plane_runs_on_allocated_ports_with_the_scheduler_data_in_the_data_directory()
    {
        directories.Install(DaprBinaries);
        await using var model = await AppHostModel.BuildAsync(directories.Args());

        Assert.Equal(Path.Combine(directories.Bin, "placement"), model.Executable("dapr-placement").Command);
        var placement = await model.ArgsAsync("dapr-placement");
        Assert.Equal("{dapr-placement.grpc.TargetPort}", Flag(placement, "--port"));
        Assert.Equal("{dapr-placement.healthz.TargetPort}", Flag(placement, "--healthz-port"));
        Assert.Equal("{dapr-placement.metrics.TargetPort}", Flag(placement, "--metrics-port"));
        Assert.Equal("dapr-placement-0=127.0.0.1:{dapr-placement.raft.TargetPort}", Flag(placement, "--initial-cluster"));

        Assert.Equal(Path.Combine(directories.Bin, "scheduler"), model.Executable("dapr-scheduler").Command);
        var scheduler = await model.ArgsAsync("dapr-scheduler");
        Assert.Equal("{dapr-scheduler.grpc.TargetPort}", Flag(scheduler, "--port"));
        Assert.Equal("127.0.0.1:{dapr-scheduler.grpc.TargetPort}", Flag(scheduler, "--override-broadcast-host-port"));
        Assert.Equal("{dapr-scheduler.healthz.TargetPort}", Flag(scheduler, "--healthz-port"));
        Assert.Equal("{dapr-scheduler.metrics.TargetPort}", Flag(scheduler, "--metrics-port"));
        Assert.Equal("{dapr-scheduler.etcd-client.TargetPort}", Flag(scheduler, "--etcd-client-port"));
        Assert.Equal("dapr-scheduler-server-0=http://127.0.0.1:{dapr-scheduler.etcd-peer.TargetPort}", Flag(scheduler, "--etcd-initial-cluster"));
        Assert.Equal(Path.Combine(directories.Data, "dapr", "scheduler"), Flag(scheduler, "--etcd-data-dir"));
    }

    [Fact]
    public async Task Every_port_a_dapr_process_listens_on_is_an_allocated_endpoint_of_its_own()
    {
        directories.Install(DaprBinaries);
        await using var model = await AppHostModel.BuildAsync(directories.Args());

        foreach (var resource in new[] { "command-service-dapr", "query-service-dapr", "dapr-placement", "dapr-scheduler" })
        {
            var args = await model.ArgsAsync(resource);
            // flag → the endpoint of this resource its value names; addresses of other processes (and the one the
            // scheduler announces for its own gRPC port) are not listeners.
            var listeners = args.Zip(args.Skip(1))
                .Where(pair => pair.First.StartsWith("--", StringComparison.Ordinal) && pair.First != "--override-broadcast-host-port")
                .Select(pair => (Flag: pair.First, Endpoint: OwnEndpoint().Match(pair.Second)))
                .Where(pair => pair.Endpoint.Success && pair.Endpoint.Groups["resource"].Value == resource)
                .Select(pair => (pair.Flag, Endpoint: pair.Endpoint.Groups["endpoint"].Value))
                .ToList();

            Assert.Equal(model.Endpoints(resource).Order(), listeners.Select(l => l.Endpoint).Order()); // each endpoint listened on once
            Assert.DoesNotContain(args, arg => DefaultPorts.Any(port => arg.EndsWith(port, StringComparison.Ordinal)));
        }
    }

    [Fact]
    public async Task The_daprd_sidecars_get_the_secrets_the_components_read_the_api_tokens_and_telemetry_but_no_emulator_registry()
    {
        directories.Install(DaprBinaries);
        await using var model = await AppHostModel.BuildAsync(directories.Args());

        foreach (var app in Apps)
        {
            var sidecar = await model.EnvironmentAsync($"{app}-dapr");
            Assert.Contains("REDIS_HOST", sidecar.Keys);
            Assert.Contains("WRITEDB_DAPR_CONNECTION", sidecar.Keys);
            Assert.Contains("READDB_DAPR_CONNECTION", sidecar.Keys);
            Assert.Equal("{param:dapr-api-token}", sidecar["DAPR_API_TOKEN"]);
            Assert.Equal("{param:app-api-token}", sidecar["APP_API_TOKEN"]);
            Assert.Equal("127.0.0.1", sidecar["DAPR_HOST_IP"]);
            Assert.Contains("OTEL_EXPORTER_OTLP_ENDPOINT", sidecar.Keys);
            Assert.DoesNotContain("CQRSDAPR_EMULATOR_REGISTRY", sidecar.Keys);
        }
    }

    [Fact]
    public async Task With_an_empty_bin_directory_auto_runs_the_emulator_and_no_control_plane()
    {
        await using var model = await AppHostModel.BuildAsync(directories.Args());

        Assert.DoesNotContain("dapr-placement", model.ResourceNames);
        Assert.DoesNotContain("dapr-scheduler", model.ResourceNames);
        Assert.False(File.Exists(Path.Combine(directories.Data, "dapr", "config.yaml")));
        foreach (var app in Apps)
        {
            var sidecar = $"{app}-dapr";
            var args = await model.ArgsAsync(sidecar);
            Assert.EndsWith("CqrsDapr.DaprEmulator.dll", args[0], StringComparison.Ordinal);
            Assert.Equal(app, Flag(args, "--app-id"));
            Assert.Equal($"{{{sidecar}.http.TargetPort}}", Flag(args, "--dapr-http-port"));
            Assert.Equal($"{{{sidecar}.grpc.TargetPort}}", Flag(args, "--dapr-grpc-port"));
            Assert.Equal(["http", "grpc"], model.Endpoints(sidecar));
            var environment = await model.EnvironmentAsync(sidecar);
            Assert.Equal(Path.Combine(directories.Data, "dapr-apps"), environment["CQRSDAPR_EMULATOR_REGISTRY"]);
            Assert.Equal("{param:dapr-api-token}", environment["DAPR_API_TOKEN"]);
            Assert.Equal("{param:app-api-token}", environment["APP_API_TOKEN"]);
        }
    }

    [Fact]
    public async Task Emulator_mode_runs_the_emulator_even_with_daprd_installed()
    {
        directories.Install(DaprBinaries);
        await using var model = await AppHostModel.BuildAsync(directories.Args("--CqrsDapr:Sidecar=emulator"));

        Assert.Equal("dotnet", model.Executable("query-service-dapr").Command);
        Assert.DoesNotContain("dapr-placement", model.ResourceNames);
    }

    [Fact]
    public async Task Each_app_and_its_sidecar_share_the_two_api_tokens_the_gateway_gets_neither()
    {
        await using var model = await AppHostModel.BuildAsync(directories.Args());

        foreach (var app in Apps)
        {
            var environment = await model.EnvironmentAsync(app);
            Assert.Equal("{param:dapr-api-token}", environment["DAPR_API_TOKEN"]);
            Assert.Equal("{param:app-api-token}", environment["APP_API_TOKEN"]);
            Assert.Equal($"{{{app}-dapr.http}}", environment["DAPR_HTTP_ENDPOINT"]);
        }

        var gateway = await model.EnvironmentAsync("gateway");
        Assert.DoesNotContain("DAPR_API_TOKEN", gateway.Keys);
        Assert.DoesNotContain("APP_API_TOKEN", gateway.Keys);
        var apiToken = await model.ParameterAsync("dapr-api-token");
        var appToken = await model.ParameterAsync("app-api-token");
        Assert.True(apiToken.Length >= 32 && apiToken.All(char.IsAsciiLetterOrDigit), apiToken);
        Assert.NotEqual(apiToken, appToken);
    }

    [Fact]
    public async Task Tokens_are_drawn_afresh_for_each_run()
    {
        string first;
        await using (var model = await AppHostModel.BuildAsync(directories.Args()))
        {
            first = await model.ParameterAsync("dapr-api-token");
        }

        await using var again = await AppHostModel.BuildAsync(directories.Args());

        Assert.NotEqual(first, await again.ParameterAsync("dapr-api-token"));
    }

    [Theory]
    [InlineData("daprd", new string[0], "daprd, placement, scheduler")]
    [InlineData("daprd", new[] { "daprd" }, "placement, scheduler")]
    [InlineData("auto", new[] { "daprd", "placement" }, "scheduler")]
    public async Task Daprd_without_all_its_binaries_fails_naming_what_is_missing_and_how_to_install_it(string mode, string[] installed, string missing)
    {
        directories.Install(installed);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => AppHostModel.BuildAsync(directories.Args($"--CqrsDapr:Sidecar={mode}")));

        var message = error.GetBaseException().Message;
        Assert.Contains($"missing: {missing}.", message, StringComparison.Ordinal);
        Assert.Contains("dapr init --slim", message, StringComparison.Ordinal);
        Assert.Contains("~/.dapr/bin", message, StringComparison.Ordinal);
        Assert.Contains(directories.Bin, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_sidecar_setting_is_an_error()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => AppHostModel.BuildAsync(directories.Args("--CqrsDapr:Sidecar=docker")));

        Assert.Contains("use auto, daprd or emulator", error.GetBaseException().Message, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"\{(?<resource>[^.{}]+)\.(?<endpoint>[^.{}]+)\.TargetPort\}")]
    private static partial Regex OwnEndpoint();
}
