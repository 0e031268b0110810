using System.Globalization;
using CqrsDapr.AppHost;
using Microsoft.Extensions.Configuration;

// The whole system on one machine, without Docker: `dotnet run --project src/CqrsDapr.AppHost`.
// Settings (command line, environment or appsettings): CqrsDapr:DataDirectory (default .cqrsdapr/data in the
// repository), CqrsDapr:Ports:{writedb,readdb,redis,gateway,dashboard,otlp} (gateway 8080, dashboard 15080, otlp 19080;
// the others, and 0, are allocated; see AppHostPorts),
// CqrsDapr:Gateway:RateLimitPermits (the gateway's requests per client address and window; its own default unless set).
// CqrsDapr:Sidecar (auto: daprd when installed, else the emulator; daprd; emulator) and CqrsDapr:DaprBinDirectory.
// CqrsDapr:ViewStore or --view-store (dapr, the default: views in the read PostgreSQL through Dapr; cosmos: in Azure Cosmos DB, the
// account of CqrsDapr:Cosmos:Endpoint or else a local stand-in server, see CosmosViewStore).
// Apps and sidecars authenticate each other with API tokens drawn for each run (see DaprSidecars).
var builder = DistributedApplication.CreateBuilder(args);
FileDescriptorLimit.Apply(builder); // the soft limit of open files raised to the hard one, for DCP and every resource
var ports = AppHostPorts.Configure(builder); // CqrsDapr:Ports:*, the dashboard's too; a taken one stops the start
var repositoryRoot = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, "..", ".."));
// CqrsDapr:Profile or --profile: development (default, every span) or production (the Helm chart's defaults from
// charts/cqrs-dapr/values.yaml, Release builds only; see RunProfile).
var profile = RunProfile.Read(builder, repositoryRoot);

// PostgreSQL and Redis (and Node.js for the local Cosmos DB stand-in) come from the machine: when any is missing, one
// message names them all with the packages to install, before anything starts.
if (Prerequisites.Find(builder.Configuration, repositoryRoot) is { Count: > 0 } missing)
{
    await Console.Error.WriteLineAsync(Prerequisites.Message(missing));
    return 1;
}

var dataRoot = Path.GetFullPath(builder.Configuration["CqrsDapr:DataDirectory"] ?? Path.Combine(repositoryRoot, ".cqrsdapr", "data"));
var components = Path.Combine(repositoryRoot, "components");
int? Port(string name, int? fallback = null) => ports.Port(name, fallback);

// Separate servers for the write and the read database, as in production.
var writeDb = builder.AddPostgresExecutable("writedb", "cqrsdapr_write", dataRoot, Port("writedb"));
var readDb = builder.AddPostgresExecutable("readdb", "cqrsdapr_read", dataRoot, Port("readdb"));
var redis = builder.AddRedisExecutable("redis", dataRoot, Port("redis"));

// The write database's schema, applied before the command service serves (the Helm chart's migration job).
var migrations = builder.AddProject<Projects.CqrsDapr_CommandService>("migrations", options => options.ExcludeLaunchProfile = true)
    .WithArgs("migrate")
    .WithEnvironment("ConnectionStrings__writedb", writeDb.Resource.NpgsqlConnectionString)
    .WaitFor(writeDb);

var commandService = builder.AddProject<Projects.CqrsDapr_CommandService>("command-service", options => options.ExcludeLaunchProfile = true)
    .WithHttpEndpoint()
    .WithHttpHealthCheck("/health")
    .WithEnvironment("ConnectionStrings__writedb", writeDb.Resource.NpgsqlConnectionString)
    .WaitForCompletion(migrations);

var queryService = builder.AddProject<Projects.CqrsDapr_QueryService>("query-service", options => options.ExcludeLaunchProfile = true)
    .WithHttpEndpoint()
    .WithEnvironment("Projection__Subscriptions", "Declarative") // components/subscriptions.yaml routes the topics
    .WithHttpHealthCheck("/health");
if (CosmosViewStore.IsChosen(builder.Configuration))
{
    CosmosViewStore.Use(builder, queryService, repositoryRoot, dataRoot);
}

// A Dapr sidecar per service: daprd (with placement and scheduler) when installed, the project's emulator otherwise.
// Both read components/ with these secrets (secretstores.local.env reads the environment).
var dapr = DaprSidecars.Add(builder, components, dataRoot, profile.SamplingRate);
foreach (var app in new[] { commandService, queryService })
{
    dapr.AddSidecar(app)
        .WithEnvironment("REDIS_HOST", redis.HostAndPort())
        .WithEnvironment("WRITEDB_DAPR_CONNECTION", writeDb.Resource.DaprConnectionString)
        .WithEnvironment("READDB_DAPR_CONNECTION", readDb.Resource.DaprConnectionString)
        .WaitFor(redis)
        .WaitFor(writeDb)
        .WaitFor(readDb);
}

var gateway = builder.AddProject<Projects.CqrsDapr_Gateway>("gateway", options => options.ExcludeLaunchProfile = true)
    .WithHttpEndpoint(port: Port("gateway", 8080))
    .WithHttpHealthCheck("/health")
    .WithExternalHttpEndpoints()
    .WithReference(commandService)
    .WithReference(queryService)
    .WaitFor(commandService)
    .WaitFor(queryService);

// A load test or benchmark sends everything from one address: the gateway's per-client limit would answer it 429.
if (builder.Configuration.GetValue<int?>("CqrsDapr:Gateway:RateLimitPermits") is { } rateLimitPermits)
{
    gateway.WithEnvironment("Gateway__RateLimit__PermitLimit", rateLimitPermits.ToString(CultureInfo.InvariantCulture));
}

// CqrsDapr:Gateway:Admission:* (e.g. Writes:ConcurrencyLimit, Writes:QueueLimit, RetryAfterSeconds) become the gateway's
// Gateway:Admission:* settings, to run the system with other admission limits; unset ones keep the gateway's defaults.
foreach (var (key, value) in builder.Configuration.GetSection("CqrsDapr:Gateway:Admission").AsEnumerable(makePathsRelative: true))
{
    if (value is not null)
    {
        gateway.WithEnvironment("Gateway__Admission__" + key.Replace(":", "__", StringComparison.Ordinal), value);
    }
}

// Operators' commands on the query service (dashboard), and operator.env in the data directory for docs/tools/ops.sh.
OperatorCommands.Add(builder, queryService, dapr, dataRoot);

// No request passes through one of Aspire's proxies (DCP's), in either profile; see DirectEndpoints.
DirectEndpoints.Apply(builder);

// Production profile: the chart's sampling and log levels (nothing in development).
profile.Apply(builder, [commandService, queryService, gateway], [migrations], dapr);

// One machine, both sides: the write side's own processes yield the CPU to reads (CqrsDapr:WriteSideNice, see WriteSidePriority).
WriteSidePriority.Add(builder, commandService.Resource, dapr.SidecarOf(commandService).Resource, writeDb.Resource);

// The services and sidecars read their configuration once: no file watchers (see ConfigurationReload).
ConfigurationReload.TurnOff(builder);

// A resource that exits unexpectedly is an error in this log; the orchestrator gone, the AppHost stops with exit code 3.
ResourceSupervisor.Add(builder);

// Exit codes: 0 stopped on request, 1 refused start (taken port, missing prerequisite, wrong build), 3 orchestrator lost.
return await AppHostPorts.RunAsync(builder.Build());
