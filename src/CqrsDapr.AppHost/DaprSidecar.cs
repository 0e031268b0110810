using System.Reflection;

namespace CqrsDapr.AppHost;

/// <summary>
/// A Dapr sidecar for a project: the project's emulator (<c>dotnet CqrsDapr.DaprEmulator.dll</c>, daprd's flags) on
/// ports Aspire allocates, reading <c>components/</c>. The app finds it through <c>DAPR_HTTP_ENDPOINT</c> and
/// <c>DAPR_GRPC_ENDPOINT</c> (and the matching ports) and starts once its components are loaded. The sidecars of one
/// AppHost share an app registry (service invocation's name resolution) in its data directory, so two AppHosts on
/// one machine never call each other's apps: what a Dapr namespace is to daprd.
/// </summary>
internal static class DaprSidecar
{
    public static IResourceBuilder<ExecutableResource> AddDaprSidecar(
        this IResourceBuilder<ProjectResource> app, string componentsPath, string appRegistry)
    {
        var appId = app.Resource.Name;
        var sidecar = app.ApplicationBuilder.AddExecutable($"{appId}-dapr", "dotnet", Path.GetDirectoryName(componentsPath)!)
            .WithHttpEndpoint(name: "http")
            .WithEndpoint(name: "grpc", scheme: "http")
            .WithHttpHealthCheck("/v1.0/healthz/outbound", statusCode: 204, endpointName: "http") // components loaded: what daprd reports to apps
            .WithParentRelationship(app);
        var http = sidecar.GetEndpoint("http");
        var grpc = sidecar.GetEndpoint("grpc");
        sidecar.WithArgs(
            EmulatorDll(),
            "--app-id", appId,
            "--app-port", app.GetEndpoint("http").Property(EndpointProperty.Port),
            "--dapr-http-port", http.Property(EndpointProperty.TargetPort),
            "--dapr-grpc-port", grpc.Property(EndpointProperty.TargetPort),
            "--resources-path", componentsPath)
            .WithEnvironment("CQRSDAPR_EMULATOR_REGISTRY", appRegistry);

        app.WithEnvironment("DAPR_HTTP_ENDPOINT", http)
            .WithEnvironment("DAPR_GRPC_ENDPOINT", grpc)
            .WithEnvironment("DAPR_HTTP_PORT", http.Property(EndpointProperty.Port))
            .WithEnvironment("DAPR_GRPC_PORT", grpc.Property(EndpointProperty.Port))
            .WaitFor(sidecar);
        return sidecar;
    }

    /// <summary>The emulator's build output, in the configuration the AppHost was built in.</summary>
    private static string EmulatorDll()
    {
        var configuration = typeof(DaprSidecar).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var projectDirectory = Path.GetDirectoryName(new Projects.CqrsDapr_DaprEmulator().ProjectPath)!;
        var dll = Path.Combine(projectDirectory, "bin", configuration, "net10.0", "CqrsDapr.DaprEmulator.dll");
        return File.Exists(dll) ? dll : throw new InvalidOperationException(
            $"The Dapr emulator is not built ({dll} is missing): build the solution or src/CqrsDapr.AppHost first.");
    }
}
