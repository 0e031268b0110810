using System.Globalization;
using CqrsDapr.Contracts;
using CqrsDapr.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.QueryService.Tests.Infrastructure;

/// <summary>
/// A stand-in for the command service's event log: an app with app-id <c>command-service</c> and its own sidecar,
/// serving <c>GET /internal/event-log?order=aggregate</c> from the appended events with the real endpoint's paging
/// contract (tested against the outbox in the command service's tests). The query service reaches it only through Dapr service
/// invocation: both sidecars resolve app-ids in one registry folder of their own.
/// </summary>
public sealed class EventLogApp : IAsyncDisposable
{
    private readonly List<EventEnvelope> events = [];
    private WebApplication? app;
    private Sidecar? sidecar;

    private EventLogApp(string registry) => Registry = registry;

    /// <summary>The emulator's app registry both sidecars share (<c>CQRSDAPR_EMULATOR_REGISTRY</c>).</summary>
    public string Registry { get; }

    /// <summary>How many pages were served: a rebuild that walks the log pages through it.</summary>
    public int PagesServed { get; private set; }

    /// <summary>Events in the log.</summary>
    public int Count
    {
        get
        {
            lock (events)
            {
                return events.Count;
            }
        }
    }

    /// <summary>When set, every read answers this status instead of a page.</summary>
    public int? FailWith { get; set; }

    /// <summary>Appends events to the log, numbering them after the last sequence (as the outbox does).</summary>
    public void Append(IEnumerable<EventEnvelope> appended)
    {
        lock (events)
        {
            foreach (var envelope in appended)
            {
                events.Add(envelope with { Sequence = events.Count + 1 });
            }
        }
    }

    public static async Task<EventLogApp> StartAsync()
    {
        var registry = Path.Combine(Path.GetTempPath(), "cqrsdapr-tests", "registry-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(registry);
        var log = new EventLogApp(registry);
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}"));
        builder.Logging.ClearProviders();
        log.app = builder.Build();
        log.app.MapGet("/" + EventLogPage.Method, (int? limit, string? order, string? cursor) =>
            order == EventLogPage.ByAggregate ? log.ReadByAggregate(cursor, limit ?? 500) : Results.BadRequest("only order=aggregate is served here"));
        await log.app.StartAsync();
        log.sidecar = await Sidecar.StartAsync(new SidecarOptions
        {
            AppId = DaprNames.CommandService,
            AppPort = port,
            LogLevel = "warn",
            Environment = log.Environment,
        });
        return log;
    }

    /// <summary>What a sidecar needs to find this app.</summary>
    public Dictionary<string, string> Environment => new(StringComparer.Ordinal) { ["CQRSDAPR_EMULATOR_REGISTRY"] = Registry };

    /// <summary>Aggregate order (type, id, version); this stand-in's cursor is simply how many events were served.</summary>
    private IResult ReadByAggregate(string? cursor, int limit)
    {
        if (FailWith is { } status)
        {
            return Results.Problem(statusCode: status, title: "The event log is failing on purpose.");
        }

        lock (events)
        {
            PagesServed++;
            var skip = cursor is null ? 0 : int.Parse(cursor, CultureInfo.InvariantCulture);
            var page = events
                .OrderBy(e => e.AggregateType, StringComparer.Ordinal).ThenBy(e => e.AggregateId, StringComparer.Ordinal).ThenBy(e => e.AggregateVersion)
                .Skip(skip).Take(limit).ToList();
            return Results.Json(
                new EventLogPage { Events = page, Cursor = page.Count == limit ? (skip + limit).ToString(CultureInfo.InvariantCulture) : null },
                ContractsJson.Default.EventLogPage);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (sidecar is not null)
        {
            await sidecar.DisposeAsync();
        }

        if (app is not null)
        {
            await app.DisposeAsync();
        }

        try
        {
            Directory.Delete(Registry, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>The query service with an event log to rebuild from (<see cref="EventLogApp"/>).</summary>
public class RebuildingQueryServiceHost(ReadDatabaseServer database) : QueryServiceHost(database)
{
    private EventLogApp? log;

    public EventLogApp Log => log ?? throw new InvalidOperationException("not started");

    protected override IDictionary<string, string> SidecarEnvironment => Log.Environment;

    /// <summary>Small pages and batches, so a rebuild in a test walks several of each.</summary>
    protected override IReadOnlyDictionary<string, string> Settings { get; } = RebuildSettings;

    private protected static Dictionary<string, string> RebuildSettings => new(StringComparer.Ordinal) { ["Rebuild:PageSize"] = "50", ["Rebuild:BatchEvents"] = "120" };

    public override async ValueTask InitializeAsync()
    {
        log = await EventLogApp.StartAsync();
        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (log is not null)
        {
            await log.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}

/// <summary>
/// The same host with the views, the generations document and the dead letters in Cosmos DB (the stand-in server),
/// so a rebuild's claim, generation switch and cleanup run against the Cosmos store.
/// </summary>
public sealed class CosmosRebuildingQueryServiceHost(ReadDatabaseServer database) : RebuildingQueryServiceHost(database)
{
    private CosmosDbServer? cosmos;
    private Dictionary<string, string> settings = RebuildSettings;

    protected override IReadOnlyDictionary<string, string> Settings => settings;

    public override async ValueTask InitializeAsync()
    {
        cosmos = await CosmosDbServer.StartAsync();
        settings = new Dictionary<string, string>(RebuildSettings, StringComparer.Ordinal)
        {
            ["ViewStore:Provider"] = "Cosmos",
            ["ViewStore:Cosmos:Endpoint"] = cosmos.Endpoint.ToString(),
            ["ViewStore:Cosmos:AccountKey"] = CosmosDbServer.AccountKey,
            ["ViewStore:Cosmos:ConnectionMode"] = "Gateway",
            ["ViewStore:Cosmos:LimitToEndpoint"] = "true",
            ["ViewStore:Cosmos:ServerCertificatePath"] = cosmos.CertificatePath,
            ["ViewStore:Cosmos:CreateIfNotExists"] = "true",
            ["ViewStore:Cosmos:PartitionBuckets"] = "3",
        };
        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (cosmos is not null)
        {
            await cosmos.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}
