using System.Diagnostics;
using System.Globalization;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using CqrsDapr.EndToEnd.Tests.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CqrsDapr.EndToEnd.Tests;

/// <summary>
/// The whole system, started once for the test collection through the real AppHost: its own data directory (fresh
/// databases) and ports Aspire allocates, the gateway included. Tests may crash and restart its processes
/// (<see cref="KillAsync"/>, <see cref="StartAsync"/>). Disposing stops every process it started.
/// </summary>
public class SystemFixture : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);
    private readonly string dataDirectory = Path.Combine(Path.GetTempPath(), "cqrsdapr-e2e", Guid.NewGuid().ToString("N"));
    private DistributedApplication? app;

    /// <summary>A client of the gateway: the system's only public entrance.</summary>
    public HttpClient Gateway { get; private set; } = null!;

    /// <summary>Where every service sends its spans (OTLP/HTTP), in place of the dashboard.</summary>
    public TraceCollector Traces { get; private set; } = null!;

    /// <summary>This run's <c>DAPR_API_TOKEN</c> (apps → sidecars).</summary>
    public string ApiToken { get; private set; } = "";

    /// <summary>This run's <c>APP_API_TOKEN</c> (sidecars → apps).</summary>
    public string AppToken { get; private set; } = "";

    /// <summary>The write database (the source of truth), for reconciliation against the views.</summary>
    public string WriteDatabase { get; private set; } = null!;

    /// <summary>The data directory of this system (databases, certificates).</summary>
    public string DataDirectory => dataDirectory;

    /// <summary>AppHost settings beyond the ones every test system has.</summary>
    protected virtual IEnumerable<string> Settings => [];

    private protected DistributedApplication App => app ?? throw new InvalidOperationException("The system is not started.");

    /// <summary>A client of a resource's own HTTP endpoint (a sidecar's Dapr API, an app's port), not the gateway.</summary>
    public HttpClient Client(string resource) => new() { BaseAddress = App.GetEndpoint(resource, "http") };

    public async ValueTask InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(StartTimeout);
        Traces = await TraceCollector.StartAsync();
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.CqrsDapr_AppHost>(
            [$"--CqrsDapr:DataDirectory={dataDirectory}", "--CqrsDapr:Ports:gateway=0",
             "--CqrsDapr:Gateway:RateLimitPermits=1000000", // the fault tests' clients write as fast as they can
             .. Settings], timeout.Token);
        foreach (var project in builder.Resources.OfType<ProjectResource>())
        {
            // Added after Aspire's own OTLP settings (the dashboard's address), so these win.
            project.Annotations.Add(new EnvironmentCallbackAnnotation(environment =>
            {
                environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = Traces.Endpoint.ToString();
                environment["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
            }));
        }

        builder.Services.AddLogging(logging => logging
            .AddFilter("System.Net.Http.HttpClient", LogLevel.Warning) // a line per request of the tests' clients
            .AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None)); // expected while processes start or are down
        app = await builder.BuildAsync(timeout.Token);
        await app.StartAsync(timeout.Token);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("gateway", timeout.Token);
        Gateway = app.CreateHttpClient("gateway");
        await WarmUpAsync(timeout.Token);
        var parameters = app.Services.GetRequiredService<DistributedApplicationModel>().Resources.OfType<ParameterResource>().ToList();
        ApiToken = await parameters.Single(p => p.Name == "dapr-api-token").GetValueAsync(timeout.Token) ?? "";
        AppToken = await parameters.Single(p => p.Name == "app-api-token").GetValueAsync(timeout.Token) ?? "";

        var writeDb = app.GetEndpoint("writedb", "tcp");
        WriteDatabase = new NpgsqlConnectionStringBuilder
        {
            Host = writeDb.Host,
            Port = writeDb.Port,
            Username = "postgres",
            Database = "cqrsdapr_write",
            Pooling = false,
        }.ConnectionString;
    }

    /// <summary>
    /// One write all the way to the views before any test runs. The first write after start crosses every process's
    /// cold paths (JIT, connections, the view store client's caches): about 0.5 s on an idle machine, and more than the
    /// query service's 2 s consistency wait once when the whole suite ran beside it. The tests measure a running system.
    /// </summary>
    private async Task WarmUpAsync(CancellationToken cancellationToken)
    {
        using var created = await Gateway.SendAsync(HttpMethod.Post, "/api/products",
            """{"sku":"WARM-UP","name":"Warm-up","category":"warm-up","price":{"amount":1,"currency":"EUR"},"stock":1}""",
            cancellationToken: cancellationToken);
        if (created.StatusCode != System.Net.HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"The warm-up write answered {(int)created.StatusCode}: {await created.Content.ReadAsStringAsync(cancellationToken)}");
        }

        var id = created.Headers.Location!.OriginalString.Split('/')[^1];
        var token = created.Headers.GetValues(ProductApi.ConsistencyToken).Single();
        var (status, _) = await Gateway.ReadOwnWriteAsync(id, token, DateTimeOffset.UtcNow.AddMinutes(1), cancellationToken);
        if (status != System.Net.HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"The warm-up write did not reach the views within a minute: {(int)status}.");
        }
    }

    /// <summary>
    /// Crashes resources the hard way: SIGKILL to each process and its children (a sidecar, a PostgreSQL server and
    /// its backends), no shutdown code runs. Returns once Aspire sees them gone.
    /// </summary>
    public async Task KillAsync(params string[] resources)
    {
        foreach (var resource in resources)
        {
            var pid = ProcessId(resource);
            using var process = Process.GetProcessById(pid);
            process.Kill(entireProcessTree: true);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        foreach (var resource in resources)
        {
            await App.ResourceNotifications.WaitForResourceAsync(
                resource, e => e.Snapshot.State?.Text is "Exited" or "Finished" or "FailedToStart", timeout.Token);
        }
    }

    /// <summary>Starts stopped resources again (Aspire's start command) and waits until each is healthy.</summary>
    public async Task StartAsync(params string[] resources)
    {
        using var timeout = new CancellationTokenSource(StartTimeout);
        foreach (var resource in resources)
        {
            var result = await App.ResourceCommands.ExecuteCommandAsync(resource, KnownResourceCommands.StartCommand, timeout.Token);
            Assert.True(result.Success, $"{resource} did not start: {result.Message}");
        }

        foreach (var resource in resources)
        {
            await App.ResourceNotifications.WaitForResourceHealthyAsync(resource, timeout.Token);
        }
    }

    private int ProcessId(string resource)
    {
        Assert.True(App.ResourceNotifications.TryGetCurrentState(resource, out var state), $"{resource} is unknown.");
        var pid = state.Snapshot.Properties.FirstOrDefault(p => p.Name is "executable.pid" or "project.pid")?.Value;
        return Convert.ToInt32(pid, CultureInfo.InvariantCulture) is var id and > 0
            ? id
            : throw new InvalidOperationException($"{resource} has no process id; properties: " +
                string.Join(", ", state.Snapshot.Properties.Select(p => $"{p.Name}={p.Value}")));
    }

    public async ValueTask DisposeAsync()
    {
        Gateway?.Dispose();
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        if (Traces is not null)
        {
            await Traces.DisposeAsync();
        }

        if (Directory.Exists(dataDirectory))
        {
            Directory.Delete(dataDirectory, recursive: true);
        }

        GC.SuppressFinalize(this);
    }
}

/// <summary>The same system with the query service's views in Cosmos DB (the AppHost's local stand-in server).</summary>
public sealed class CosmosSystemFixture : SystemFixture
{
    protected override IEnumerable<string> Settings => ["--CqrsDapr:ViewStore=cosmos"];

    /// <summary>The stand-in Cosmos DB server's endpoint.</summary>
    public Uri CosmosEndpoint => App.GetEndpoint("cosmos", "https");
}

/// <summary>The system on Cosmos DB, for the tests that run there too.</summary>
[CollectionDefinition(Name)]
public sealed class WholeSystemOnCosmos : ICollectionFixture<CosmosSystemFixture>
{
    public const string Name = "system-on-cosmos";
}

/// <summary>One system for every end-to-end test class; the classes run one after another (faults would disturb the others).</summary>
[CollectionDefinition(Name)]
public sealed class WholeSystem : ICollectionFixture<SystemFixture>
{
    public const string Name = "system";
}
