using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using CqrsDapr.Contracts;
using CqrsDapr.QueryService.Projection;
using CqrsDapr.QueryService.Rebuild;
using CqrsDapr.QueryService.Views;
using CqrsDapr.TestSupport;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CqrsDapr.QueryService.ProjectionBenchmarks;

// Rebuild throughput: the real command service (child process, own sidecar) serves its event log from a PostgreSQL
// outbox seeded with N published events; the query service (in this process, own sidecar, same emulator app registry)
// rebuilds every product view into a fresh generation: one warm-up rebuild, then one per page size. Also walks the log
// alone (SQL, the command service directly, through both sidecars), times the view store calls, reads each process's
// CPU, and measures two what-ifs (folding events across pages; writing the views straight into PostgreSQL) to show
// where the time goes.
// dotnet run -c Release --project tests/CqrsDapr.QueryService.ProjectionBenchmarks -- --rebuild [--quick] [--page-sizes 500,2000,5000]
internal static class RebuildBenchmark
{
    private const string RegistryVariable = "CQRSDAPR_EMULATOR_REGISTRY";
    private const double TargetRate = 20_000;
    private static readonly TimeSpan GenerationRefresh = TimeSpan.FromMilliseconds(20);

    public static async Task<int> RunAsync(string[] args)
    {
        var quick = args.Contains("--quick");
        var (products, perProduct) = quick ? (5_000, 4) : (25_000, 4);
        var events = products * perProduct;
        int[] pageSizes = [.. (args.SkipWhile(a => a != "--page-sizes").Skip(1).FirstOrDefault() ?? "500,2000,5000")
            .Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))];
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        Console.WriteLine($"CqrsDapr rebuild benchmark: {events} events for {products} products ({perProduct} each, interleaved), page sizes {string.Join('/', pageSizes)}, " +
            $"{Environment.ProcessorCount} cores, load average {LoadAverage()}, {DateTime.UtcNow:u}");

        var work = Path.Combine(Path.GetTempPath(), "cqrsdapr-bench", "rebuild-" + Guid.NewGuid().ToString("N"));
        var registry = Directory.CreateDirectory(Path.Combine(work, "registry")).FullName;
        var commandResources = Directory.CreateDirectory(Path.Combine(work, "command-resources")).FullName;
        var queryResources = Directory.CreateDirectory(Path.Combine(work, "query-resources")).FullName;
        try
        {
            var setup = Stopwatch.StartNew();
            await using var postgres = await PostgresServer.StartAsync();
            var writeDb = await postgres.CreateDatabaseAsync("rebuild_write");
            var readDb = await postgres.CreateDatabaseAsync("rebuild_read");
            await CommandServiceProcess.MigrateAsync(writeDb);
            var migrated = setup.Elapsed;
            var ids = await EventLogSeed.SeedAsync(writeDb, products, perProduct);
            var seeded = setup.Elapsed - migrated;
            Console.WriteLine($"write schema by 'migrate' in {migrated.TotalSeconds:F1} s; seeded {events} published outbox rows by COPY (+ VACUUM ANALYZE) in {seeded.TotalSeconds:F1} s " +
                $"({events / seeded.TotalSeconds:F0} rows/s); outbox {await TableSizeAsync(writeDb)}");

            await using var command = await CommandServiceProcess.StartAsync(writeDb, registry, commandResources);
            new Resources(queryResources)
                .PostgresState(DaprNames.ViewStore, readDb)
                .Component(DaprNames.PubSub, "pubsub.in-memory");
            var appPort = FreePort.Next();
            await using var sidecar = await Sidecar.StartAsync(new SidecarOptions
            {
                AppId = DaprNames.QueryService,
                AppPort = appPort,
                ResourcesPaths = [queryResources],
                LogLevel = "warn",
                Environment = { [RegistryVariable] = registry },
            });

            var probes = new RebuildProbes();
            var settings = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["Views:GenerationRefresh"] = GenerationRefresh.ToString("c", CultureInfo.InvariantCulture),
                ["Rebuild:PageSize"] = pageSizes[0].ToString(CultureInfo.InvariantCulture),
            };
            await using var app = new QueryServiceFactory(sidecar, settings, probes.Install);
            app.UseKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, appPort)); // not UseKestrel(port): it races the app starting Kestrel (dotnet/aspnetcore#67714)
            app.StartServer();
            using var client = new HttpClient { BaseAddress = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{appPort}")) };
            using var viaSidecars = new HttpClient { BaseAddress = new Uri(sidecar.HttpEndpoint) };
            using var direct = new HttpClient { BaseAddress = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{command.Port}")) };
            await WaitUntilInvocableAsync(viaSidecars, command);
            Console.WriteLine($"sidecars: {sidecar.Kind} (query-service :{sidecar.HttpPort}, command-service :{command.Sidecar.HttpPort}, shared app registry); " +
                $"command service pid {command.ProcessId} on :{command.Port}; PostgreSQL :{postgres.Port}; setup {setup.Elapsed.TotalSeconds:F1} s");

            var cpu = new ProcessCpu([
                ("bench+query service", ProcessCpu.Self),
                ("query sidecar", () => ProcessCpu.Of(sidecar.ProcessId)),
                ("command sidecar", () => ProcessCpu.Of(command.Sidecar.ProcessId)),
                ("command service", () => ProcessCpu.Of(command.ProcessId)),
                ("postgres", ProcessCpu.Postgres(postgres.Port)),
            ]);

            // Warm-up: JIT and connection pools in every process, the outbox in PostgreSQL's cache, one whole rebuild. The
            // first rebuild of a run is markedly slower whichever page size it has (seen by permuting --page-sizes).
            await WalkAsync(viaSidecars, ViaSidecarsPath, 2000);
            Console.WriteLine();
            Console.WriteLine("--- warm-up (not in the summary) ---");
            await RebuildAsync(app, client, probes, cpu, 2000, events, perProduct, ids);

            var results = new List<RunResult>();
            var failed = false;
            foreach (var pageSize in pageSizes)
            {
                Console.WriteLine();
                Console.WriteLine($"--- page size {pageSize} ---");
                var sql = await WalkSqlAsync(writeDb, pageSize);
                var directWalk = await WalkAsync(direct, "/" + EventLogPage.Method, pageSize);
                var before = cpu.Read();
                var walk = await WalkAsync(viaSidecars, ViaSidecarsPath, pageSize);
                Console.WriteLine($"log walk only, {walk.Pages} pages of {pageSize}: SQL on the outbox {Rate(sql)}; command service directly {Rate(directWalk)}; " +
                    $"through both sidecars (what the rebuild reads) {Rate(walk)}");
                Console.WriteLine($"  CPU during the walk through the sidecars: {cpu.Describe(before, cpu.Read(), walk.Elapsed)}");

                var run = await RebuildAsync(app, client, probes, cpu, pageSize, events, perProduct, ids);
                failed |= !run.Ok;
                results.Add(run with { LogOnly = walk.Elapsed });
            }

            Console.WriteLine();
            Console.WriteLine("write ceiling: " + await WriteCeiling.MeasureAsync(readDb, products));

            Console.WriteLine();
            Console.WriteLine($"summary ({sidecar.Kind} sidecars, {Environment.ProcessorCount} cores, load average now {LoadAverage()}; target >= {TargetRate:F0} events/s, Marten's published rebuild example ~8,700/s):");
            Console.WriteLine("  page size | events | products | POST -> switch | events/s | log walk only (through sidecars) | bulk saves: views, time, share");
            foreach (var r in results)
            {
                Console.WriteLine($"  {r.PageSize,9} | {r.Events,6} | {products,8} | {r.ToSwitch.TotalSeconds,12:F2} s | {r.Events / r.ToSwitch.TotalSeconds,8:F0} | " +
                    $"{r.LogOnly.TotalSeconds,6:F2} s ({r.LogOnly / r.ToSwitch,4:P0} of the rebuild) | {r.Saved}, {r.SaveTime.TotalSeconds:F2} s, {r.SaveTime / r.ToSwitch:P0}");
            }

            return failed ? 1 : 0;
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static string ViaSidecarsPath => EventLogClient.MethodPath;

    private static async Task<RunResult> RebuildAsync(
        QueryServiceFactory app, HttpClient client, RebuildProbes probes, ProcessCpu cpu, int pageSize, int events, int perProduct, Guid[] ids)
    {
        var services = app.Services;
        var rebuild = services.GetRequiredService<ProductRebuild>();
        var generations = services.GetRequiredService<ViewGenerations>();

        // ProductRebuild reads IOptions<RebuildOptions>.Value on every page: the cached instance can be changed between runs.
        services.GetRequiredService<IOptions<RebuildOptions>>().Value.PageSize = pageSize;
        probes.Reset();
        var before = cpu.Read();
        var posted = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        using (var response = await client.PostAsync(new Uri(RebuildModule.Route, UriKind.Relative), null))
        {
            if (response.StatusCode != HttpStatusCode.Accepted)
            {
                throw new InvalidOperationException($"POST {RebuildModule.Route} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            }
        }

        await rebuild.Running.WaitAsync(TimeSpan.FromMinutes(15));
        var wall = clock.Elapsed;
        var after = cpu.Read();
        var (logReads, bulkGets, bulkSaves) = (probes.LogReads.ToString(), probes.BulkGets.ToString(), probes.BulkSaves.ToString());
        var (saved, saveTime) = (probes.BulkSaves.Items, probes.BulkSaves.Elapsed);
        var storeTime = probes.BulkGets.Elapsed + saveTime;

        var document = (await generations.ReadAsync(CancellationToken.None)).Document;
        var status = document.LastRebuild ?? throw new InvalidOperationException("no rebuild status");
        var toSwitch = (status.FinishedAt ?? DateTimeOffset.UtcNow) - posted;
        var sample = ids.Where((_, i) => i % Math.Max(1, ids.Length / 1000) == 0).ToList();
        var views = await generations.Active.GetManyAsync(sample, CancellationToken.None);
        var final = views.Values.Count(v => v.View.Version == perProduct);
        var ok = status.State == RebuildStatus.CompletedState && status.Events == events && document.Active == status.Generation && final == sample.Count;

        Console.WriteLine($"rebuild into generation {status.Generation}: {status.State}, {status.Events} events, {status.Applied} events applied; " +
            $"{final}/{sample.Count} sampled views at their final version {perProduct}{(ok ? "" : "  <-- WRONG")}" +
            (status.Error is null ? "" : $"; error: {status.Error}"));
        Console.WriteLine($"  POST -> switch {toSwitch.TotalSeconds:F2} s: {status.Events / toSwitch.TotalSeconds:F0} events/s (target >= {TargetRate:F0}); " +
            $"startedAt -> finishedAt {((status.FinishedAt ?? status.StartedAt) - status.StartedAt).TotalSeconds:F2} s; until the old generation retired {wall.TotalSeconds:F2} s");
        Console.WriteLine($"  event-log reads (prefetched: overlap the projecting): {logReads}");
        Console.WriteLine($"  bulk get (GetBulkState): {bulkGets}");
        Console.WriteLine($"  bulk save (POST /v1.0/state): {bulkSaves}");
        Console.WriteLine($"  store calls {storeTime.TotalSeconds:F2} s = {storeTime / toSwitch:P0} of the rebuild; the rest is waiting for the log, folding events, 2 x {GenerationRefresh.TotalMilliseconds:F0} ms refresh");
        Console.WriteLine($"  CPU: {cpu.Describe(before, after, wall)}");
        return new RunResult(pageSize, status.Events, toSwitch, TimeSpan.Zero, saved, saveTime, ok);
    }

    private static async Task<Walk> WalkAsync(HttpClient http, string path, int pageSize)
    {
        var clock = Stopwatch.StartNew();
        var (after, events, pages) = (0L, 0L, 0);
        while (true)
        {
            var uri = new Uri(string.Create(CultureInfo.InvariantCulture, $"{path}?after={after}&limit={pageSize}"), UriKind.Relative);
            var page = await http.GetFromJsonAsync(uri, ContractsJson.Default.EventLogPage) ?? throw new InvalidOperationException("empty page");
            pages++;
            events += page.Events.Count;
            if (page.Next is not { } next)
            {
                return new Walk(clock.Elapsed, events, pages);
            }

            after = next;
        }
    }

    /// <summary>The endpoint's query (every column, as EF Core reads the rows), without HTTP, JSON or EF.</summary>
    private static async Task<Walk> WalkSqlAsync(string writeDb, int pageSize)
    {
        await using var connection = new NpgsqlConnection(writeDb);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT * FROM outbox WHERE sequence > @after AND published_at IS NOT NULL ORDER BY sequence LIMIT @limit", connection);
        var afterParameter = command.Parameters.AddWithValue("after", 0L);
        command.Parameters.AddWithValue("limit", pageSize);
        var clock = Stopwatch.StartNew();
        var (events, pages) = (0L, 0);
        while (true)
        {
            var (count, last) = (0, 0L);
            await using (var reader = await command.ExecuteReaderAsync())
            {
                var values = new object[reader.FieldCount];
                while (await reader.ReadAsync())
                {
                    reader.GetValues(values);
                    last = (long)values[0];
                    count++;
                }
            }

            pages++;
            events += count;
            if (count < pageSize)
            {
                return new Walk(clock.Elapsed, events, pages);
            }

            afterParameter.Value = last;
        }
    }

    /// <summary>The query service's sidecar must find command-service in the registry and reach its app.</summary>
    private static async Task WaitUntilInvocableAsync(HttpClient viaSidecars, CommandServiceProcess command)
    {
        var clock = Stopwatch.StartNew();
        var last = "";
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            try
            {
                using var response = await viaSidecars.GetAsync(new Uri(ViaSidecarsPath + "?after=0&limit=1", UriKind.Relative));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }

                last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            }
            catch (HttpRequestException e)
            {
                last = e.Message;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"The event log never answered through the sidecars: {last}\ncommand service:\n{command.LogTail()}\ncommand sidecar:\n{command.Sidecar.LogTail()}");
    }

    private static async Task<string> TableSizeAsync(string writeDb)
    {
        await using var connection = new NpgsqlConnection(writeDb);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT pg_size_pretty(pg_total_relation_size('outbox'))", connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    private static string Rate(Walk walk) => $"{walk.Elapsed.TotalSeconds:F2} s ({walk.Events / walk.Elapsed.TotalSeconds:F0} events/s)";

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    private readonly record struct Walk(TimeSpan Elapsed, long Events, int Pages);

    private sealed record RunResult(int PageSize, long Events, TimeSpan ToSwitch, TimeSpan LogOnly, long Saved, TimeSpan SaveTime, bool Ok);
}
