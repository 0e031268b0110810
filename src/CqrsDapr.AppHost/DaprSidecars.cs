using System.Globalization;
using System.Reflection;

namespace CqrsDapr.AppHost;

/// <summary>
/// The Dapr side of the AppHost: a sidecar per project (<see cref="AddSidecar"/>) on ports Aspire allocates, reading
/// <c>components/</c>. It is the real <c>daprd</c>, with the placement and scheduler services it needs
/// (<see cref="DaprControlPlane"/>), when daprd is installed, and the project's emulator
/// (<c>dotnet CqrsDapr.DaprEmulator.dll</c>, daprd's flags) otherwise; <c>CqrsDapr:Sidecar</c> decides
/// (<see cref="DaprBinaries"/>). The app finds its sidecar through <c>DAPR_HTTP_ENDPOINT</c> and
/// <c>DAPR_GRPC_ENDPOINT</c> (and the matching ports) and starts once the sidecar's components are loaded.
/// </summary>
/// <remarks>
/// Each sidecar lets at most its service's <c>dapr.appMaxConcurrency</c> from the Helm chart's values.yaml
/// (<see cref="ChartDefaults.AppMaxConcurrency"/>) calls into the app at once (<c>--app-max-concurrency</c>), in every
/// profile, as the chart's <c>dapr.io/app-max-concurrency</c> does: one source for both.
/// <para>
/// Each run draws two random tokens (secret parameters <c>dapr-api-token</c> and <c>app-api-token</c>; set
/// <c>Parameters:…</c> to pin them): <c>DAPR_API_TOKEN</c>, which the apps' Dapr clients present to their sidecars and
/// the sidecars require on every API call but health, and <c>APP_API_TOKEN</c>, which the sidecars present to their
/// apps and the apps require on the routes only a sidecar calls. One system's apps and sidecars share the pair.
/// </para>
/// </remarks>
internal sealed class DaprSidecars
{
    private readonly IDistributedApplicationBuilder builder;
    private readonly string componentsPath;
    private readonly string dataRoot;
    private readonly IResourceBuilder<ParameterResource> apiToken;
    private readonly IResourceBuilder<ParameterResource> appToken;
    private readonly Daprd? daprd;
    private readonly IReadOnlyDictionary<string, int> appMaxConcurrency;
    private readonly Dictionary<string, IResourceBuilder<ExecutableResource>> sidecars = new(StringComparer.Ordinal);

    private DaprSidecars(IDistributedApplicationBuilder builder, string componentsPath, string dataRoot, Daprd? daprd)
    {
        this.builder = builder;
        this.componentsPath = componentsPath;
        this.dataRoot = dataRoot;
        this.daprd = daprd;
        // components/ sits at the repository's root, beside charts/.
        appMaxConcurrency = ChartDefaults.AppMaxConcurrency(ChartDefaults.ValuesPath(Path.GetDirectoryName(Path.GetFullPath(componentsPath))!));
        // Letters and digits only: they travel in headers and environment variables. 32 of 56 symbols: 185 bits.
        var token = new GenerateParameterDefault { MinLength = 32, Special = false };
        apiToken = builder.AddParameter("dapr-api-token", token, secret: true);
        appToken = builder.AddParameter("app-api-token", token, secret: true);
    }

    /// <summary>This run's <c>DAPR_API_TOKEN</c>: what a caller of a sidecar's API presents (operators too).</summary>
    public IResourceBuilder<ParameterResource> ApiToken => apiToken;

    /// <summary>The sidecar <see cref="AddSidecar"/> added for <paramref name="app"/>.</summary>
    public IResourceBuilder<ExecutableResource> SidecarOf(IResourceBuilder<ProjectResource> app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return sidecars.TryGetValue(app.Resource.Name, out var sidecar)
            ? sidecar
            : throw new InvalidOperationException($"{app.Resource.Name} has no Dapr sidecar.");
    }

    /// <summary>Whether <see cref="AddSidecar"/> added a sidecar for <paramref name="app"/>.</summary>
    public bool HasSidecar(IResourceBuilder<ProjectResource> app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return sidecars.ContainsKey(app.Resource.Name);
    }

    /// <summary>
    /// Chooses the sidecar (see <see cref="DaprBinaries.Find"/>); with daprd, adds its control plane and writes its
    /// Configuration with this trace <paramref name="samplingRate"/> (see <see cref="RunProfile.SamplingRate"/>).
    /// </summary>
    public static DaprSidecars Add(IDistributedApplicationBuilder builder, string componentsPath, string dataRoot, string samplingRate = "1")
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (DaprBinaries.Find(builder.Configuration) is not { } binaries)
        {
            return new DaprSidecars(builder, componentsPath, dataRoot, daprd: null);
        }

        var daprDirectory = Path.Combine(dataRoot, "dapr");
        var configFile = DaprConfigurationFile.Write(daprDirectory, builder.Configuration, samplingRate);
        return new DaprSidecars(builder, componentsPath, dataRoot, new Daprd(binaries, DaprControlPlane.Add(builder, binaries, daprDirectory), configFile));
    }

    public IResourceBuilder<ExecutableResource> AddSidecar(IResourceBuilder<ProjectResource> app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var appId = app.Resource.Name;
        var sidecar = builder.AddExecutable($"{appId}-dapr", daprd?.Binaries.Daprd ?? "dotnet", Path.GetDirectoryName(componentsPath)!)
            .WithHttpEndpoint(name: "http")
            .WithEndpoint(name: "grpc", scheme: "http")
            .WithHttpHealthCheck("/v1.0/healthz/outbound", statusCode: 204, endpointName: "http") // components loaded: what daprd reports to apps
            .WithEnvironment("DAPR_API_TOKEN", apiToken)
            .WithEnvironment("APP_API_TOKEN", appToken)
            .WithParentRelationship(app);
        sidecars.Add(appId, sidecar);
        var http = sidecar.GetEndpoint("http");
        var grpc = sidecar.GetEndpoint("grpc");
        object[] flags =
        [
            "--app-id", appId,
            "--app-port", app.GetEndpoint("http").Property(EndpointProperty.Port),
            "--dapr-http-port", http.Property(EndpointProperty.TargetPort),
            "--dapr-grpc-port", grpc.Property(EndpointProperty.TargetPort),
            "--resources-path", componentsPath,
            .. appMaxConcurrency.TryGetValue(appId, out var limit)
                ? new object[] { "--app-max-concurrency", limit.ToString(CultureInfo.InvariantCulture) }
                : [],
        ];
        if (daprd is null)
        {
            // The sidecars of one AppHost share an app registry (service invocation's name resolution) in its data
            // directory, so two AppHosts on one machine never call each other's apps.
            sidecar.WithArgs([EmulatorDll(), .. flags])
                .WithEnvironment("CQRSDAPR_EMULATOR_REGISTRY", Path.Combine(dataRoot, "dapr-apps"));
        }
        else
        {
            daprd.Configure(sidecar, flags);
        }

        app.WithEnvironment("DAPR_HTTP_ENDPOINT", http)
            .WithEnvironment("DAPR_GRPC_ENDPOINT", grpc)
            .WithEnvironment("DAPR_HTTP_PORT", http.Property(EndpointProperty.Port))
            .WithEnvironment("DAPR_GRPC_PORT", grpc.Property(EndpointProperty.Port))
            .WithEnvironment("DAPR_API_TOKEN", apiToken)
            .WithEnvironment("APP_API_TOKEN", appToken)
            .WaitFor(sidecar);
        return sidecar;
    }

    /// <summary>The emulator's build output, in the configuration the AppHost was built in.</summary>
    private static string EmulatorDll()
    {
        var configuration = typeof(DaprSidecars).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var projectDirectory = Path.GetDirectoryName(new Projects.CqrsDapr_DaprEmulator().ProjectPath)!;
        var dll = Path.Combine(projectDirectory, "bin", configuration, "net10.0", "CqrsDapr.DaprEmulator.dll");
        return File.Exists(dll) ? dll : throw new InvalidOperationException(
            $"The Dapr emulator is not built ({dll} is missing): build the solution or src/CqrsDapr.AppHost first.");
    }

    /// <summary>daprd sidecars: the binaries, their control plane and their Configuration file.</summary>
    private sealed record Daprd(DaprBinaries Binaries, DaprControlPlane ControlPlane, string ConfigFile)
    {
        /// <summary>
        /// daprd's own flags beyond the shared ones. Every port daprd opens is allocated, none left at its default
        /// (internal gRPC 50002, metrics 9090; profiling, port 7777, stays off). Logs stay text (readable in the
        /// dashboard's console view); API logging stays off (a line per actor call and delivery).
        /// </summary>
        public void Configure(IResourceBuilder<ExecutableResource> sidecar, object[] flags)
        {
            sidecar.WithEndpoint(name: "internal-grpc", scheme: "tcp")
                .WithHttpEndpoint(name: "metrics")
                .WithArgs(
                [
                    .. flags,
                    "--app-protocol", "http",
                    "--dapr-internal-grpc-port", sidecar.GetEndpoint("internal-grpc").Property(EndpointProperty.TargetPort),
                    "--metrics-port", sidecar.GetEndpoint("metrics").Property(EndpointProperty.TargetPort),
                    "--placement-host-address", ControlPlane.PlacementAddress,
                    "--scheduler-host-address", ControlPlane.SchedulerAddress,
                    "--config", ConfigFile,
                    "--enable-api-logging=false",
                ])
                // The address daprd registers with placement and name resolution: everything runs on this machine.
                .WithEnvironment("DAPR_HOST_IP", "127.0.0.1")
                .WithOtlpExporter()
                .WaitFor(ControlPlane.Placement)
                .WaitFor(ControlPlane.Scheduler);
        }
    }
}
