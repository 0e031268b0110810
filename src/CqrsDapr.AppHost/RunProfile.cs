using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.AppHost;

/// <summary>
/// How the AppHost runs the system: <c>CqrsDapr:Profile</c> (or <c>--profile</c>).
/// <list type="bullet">
/// <item><c>development</c> (default): the developer's view. Every span of every request reaches the dashboard, the
/// apps run as Development and log at their appsettings' levels, the telemetry is exported every second.</item>
/// <item><c>production</c>: the way the Helm chart runs the system. Traces sampled at the chart's
/// <c>dapr.tracing.samplingRate</c> (the apps parent-based through <c>OTEL_TRACES_SAMPLER</c>, daprd through its
/// Configuration), the apps at the chart's <c>logLevel</c> and as Production, the sidecars at <c>dapr.logLevel</c>,
/// the OpenTelemetry SDK's own export intervals. It requires a Release build of the AppHost (which builds the projects
/// it runs in Release too): anything else is refused at start.</item>
/// </list>
/// In both, no endpoint sits behind one of Aspire's proxies: every process listens on its own port (the gateway's
/// public port included) and is called there (<see cref="DirectEndpoints"/>).
/// The production settings are read at each start from <c>charts/cqrs-dapr/values.yaml</c>, the chart's defaults, so
/// the two cannot differ (<see cref="ChartDefaults"/>).
/// </summary>
internal sealed class RunProfile
{
    public const string Key = "CqrsDapr:Profile";
    public const string Development = "development";
    public const string Production = "production";

    /// <summary>Aspire's development-only export intervals (1 s, for a live dashboard); unset, the SDK's defaults apply.</summary>
    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    internal static readonly string[] FastExportVariables = ["OTEL_BSP_SCHEDULE_DELAY", "OTEL_BLRP_SCHEDULE_DELAY", "OTEL_METRIC_EXPORT_INTERVAL"];

    private RunProfile(string name, ChartDefaults? chart)
    {
        Name = name;
        Chart = chart;
    }

    public string Name { get; }

    public bool IsProduction => Chart is not null;

    /// <summary>The chart's production settings (production profile only).</summary>
    public ChartDefaults? Chart { get; }

    /// <summary>daprd's Configuration <c>samplingRate</c>: every span in development, the chart's rate in production.</summary>
    public string SamplingRate => Chart?.SamplingRate ?? "1";

    /// <summary>
    /// Reads the profile; with <c>production</c>, the chart's defaults, and in run mode a check at start that the
    /// AppHost is a Release build (<see cref="ProfileRefusedException"/>).
    /// </summary>
    public static RunProfile Read(IDistributedApplicationBuilder builder, string repositoryRoot)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var name = (builder.Configuration[Key] ?? builder.Configuration["profile"])?.Trim().ToLowerInvariant();
        switch (name)
        {
            case null or "" or Development:
                return new RunProfile(Development, chart: null);
            case Production:
                var profile = new RunProfile(Production, ChartDefaults.Read(ChartDefaults.ValuesPath(repositoryRoot)));
                if (builder.ExecutionContext.IsRunMode)
                {
                    // First of the host's services: refused before the orchestrator starts any process.
                    var check = new ReleaseBuildCheck(BuildConfiguration);
                    builder.Services.Insert(0, ServiceDescriptor.Singleton<IHostedService>(check));
                    // Once refused, the host's "Hosting failed to start" and stack trace would only bury the reason.
                    builder.Services.AddLogging(logging => logging.AddFilter(HostCategory, level => level >= LogLevel.Information && !check.Refused));
                }

                return profile;
            default:
                throw new InvalidOperationException($"{Key} is '{name}': use {Development} (the default) or {Production}.");
        }
    }

    /// <summary>The configuration the AppHost was built in (Debug, Release).</summary>
    internal static string BuildConfiguration =>
        typeof(RunProfile).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    /// <summary>The message refusing a production start of a build that is not Release; null when it may start.</summary>
    internal static string? Refusal(string buildConfiguration) =>
        string.Equals(buildConfiguration, "Release", StringComparison.OrdinalIgnoreCase)
            ? null
            : string.Join(Environment.NewLine,
            [
                $"error: the AppHost did not start: the production profile runs Release builds, and this AppHost is a {buildConfiguration} build.",
                "  Run it as: dotnet run -c Release --project src/CqrsDapr.AppHost -- --profile production",
                "  (building the AppHost in Release builds the services, the gateway and the Dapr emulator it runs in Release too).",
            ]);

    /// <summary>Applies the production settings to the finished model (nothing in development): the apps' and sidecars' settings.</summary>
    public void Apply(IDistributedApplicationBuilder builder, IEnumerable<IResourceBuilder<ProjectResource>> apps,
        IEnumerable<IResourceBuilder<ProjectResource>> otherProjects, DaprSidecars dapr)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(dapr);
        if (Chart is not { } chart)
        {
            return;
        }

        var projects = apps.ToList();
        foreach (var project in projects.Concat(otherProjects))
        {
            // Added last, so they replace what Aspire's own callbacks set before (Development, 1 s export intervals).
            project.WithEnvironment(context =>
            {
                context.EnvironmentVariables["DOTNET_ENVIRONMENT"] = Environments.Production;
                context.EnvironmentVariables["ASPNETCORE_ENVIRONMENT"] = Environments.Production;
                context.EnvironmentVariables["OTEL_TRACES_SAMPLER"] = ChartDefaults.TracesSampler;
                context.EnvironmentVariables["OTEL_TRACES_SAMPLER_ARG"] = chart.SamplingRate;
                context.EnvironmentVariables["Telemetry__MaxTracesPerSecond"] = chart.MaxTracesPerSecond;
                foreach (var variable in FastExportVariables)
                {
                    context.EnvironmentVariables.Remove(variable);
                }
            });
        }

        foreach (var app in projects)
        {
            app.WithEnvironment("Logging__LogLevel__Default", chart.LogLevel);
            if (dapr.HasSidecar(app))
            {
                var sidecar = dapr.SidecarOf(app);
                sidecar.WithArgs("--log-level", chart.DaprLogLevel);
                sidecar.WithEnvironment(context =>
                {
                    foreach (var variable in FastExportVariables)
                    {
                        context.EnvironmentVariables.Remove(variable);
                    }
                });
            }
        }
    }

    /// <summary>Refuses a production start of a build that is not Release.</summary>
    private sealed class ReleaseBuildCheck(string buildConfiguration) : IHostedService
    {
        private volatile bool refused;

        public bool Refused => refused;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (Refusal(buildConfiguration) is not { } refusal)
            {
                return Task.CompletedTask;
            }

            refused = true;
            throw new ProfileRefusedException(refusal);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

/// <summary>
/// The Helm chart's defaults the production profile runs with, read from <c>charts/cqrs-dapr/values.yaml</c>:
/// <c>dapr.tracing.samplingRate</c> (daprd's Configuration, and the apps' <c>OTEL_TRACES_SAMPLER_ARG</c> with
/// <c>OTEL_TRACES_SAMPLER=parentbased_traceidratio</c>, as the chart's <c>cqrs-dapr.otelEnv</c> sets them),
/// <c>dapr.tracing.maxTracesPerSecond</c> (the apps' <c>Telemetry__MaxTracesPerSecond</c>, the cap on the traces
/// each process starts per second),
/// <c>logLevel</c> (the apps' <c>Logging__LogLevel__Default</c>) and <c>dapr.logLevel</c> (the sidecars'
/// <c>--log-level</c>, the chart's <c>dapr.io/log-level</c>).
/// </summary>
internal sealed record ChartDefaults(string SamplingRate, string MaxTracesPerSecond, string LogLevel, string DaprLogLevel)
{
    /// <summary>The apps' sampler, in the chart as here.</summary>
    public const string TracesSampler = "parentbased_traceidratio";

    public static string ValuesPath(string repositoryRoot) => Path.Combine(repositoryRoot, "charts", "cqrs-dapr", "values.yaml");

    public static ChartDefaults Read(string valuesPath)
    {
        var values = ChartValues.Load(valuesPath, "the production profile's settings");
        string Scalar(params string[] path) => values.Scalar(path)
            ?? throw new InvalidOperationException($"{valuesPath} has no value {string.Join('.', path)}, which the production profile runs with.");

        var samplingRate = Scalar("dapr", "tracing", "samplingRate");
        if (!double.TryParse(samplingRate, NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) || rate is < 0 or > 1)
        {
            throw new InvalidOperationException($"{valuesPath}: dapr.tracing.samplingRate is '{samplingRate}': use a fraction from 0 to 1.");
        }

        var maxTraces = Scalar("dapr", "tracing", "maxTracesPerSecond");
        if (!int.TryParse(maxTraces, NumberStyles.None, CultureInfo.InvariantCulture, out var cap) || cap < 1)
        {
            throw new InvalidOperationException($"{valuesPath}: dapr.tracing.maxTracesPerSecond is '{maxTraces}': use a whole number of at least 1.");
        }

        return new ChartDefaults(samplingRate, maxTraces, Scalar("logLevel"), Scalar("dapr", "logLevel"));
    }

    /// <summary>
    /// The calls each sidecar makes into its app at once (<c>--app-max-concurrency</c>, the chart's
    /// <c>dapr.io/app-max-concurrency</c>), by app-id: <c>commandService.dapr.appMaxConcurrency</c> and
    /// <c>queryService.dapr.appMaxConcurrency</c> (their reasons are there). In every profile: the bound is part of how
    /// the system holds under load, not a production setting.
    /// </summary>
    public static IReadOnlyDictionary<string, int> AppMaxConcurrency(string valuesPath)
    {
        var values = ChartValues.Load(valuesPath, "the sidecars' app-max-concurrency");
        var limits = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (appId, section) in new[] { ("command-service", "commandService"), ("query-service", "queryService") })
        {
            limits[appId] = int.TryParse(values.Scalar(section, "dapr", "appMaxConcurrency"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var limit) && limit > 0
                ? limit
                : throw new InvalidOperationException($"{valuesPath} has no positive whole number {section}.dapr.appMaxConcurrency, which the sidecars run with.");
        }

        return limits;
    }
}

/// <summary>The start was refused: the production profile needs a Release build.</summary>
internal sealed class ProfileRefusedException : Exception
{
    public ProfileRefusedException()
    {
    }

    public ProfileRefusedException(string message)
        : base(message)
    {
    }

    public ProfileRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
