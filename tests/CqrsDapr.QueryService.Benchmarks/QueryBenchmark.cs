using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using CqrsDapr.Contracts;
using CqrsDapr.Contracts.Products;
using CqrsDapr.QueryService.Products;
using CqrsDapr.QueryService.Views;
using CqrsDapr.TestSupport;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.QueryService.Benchmarks;

/// <summary>
/// Sequential request latency at the service's HTTP port, for each view store in the same run (<c>--stores
/// dapr,cosmos</c>, both by default): the Dapr store (client → Kestrel → app → sidecar gRPC → PostgreSQL) and the
/// Cosmos DB store (client → Kestrel → app → Cosmos SDK → the stand-in server). GET by id, and list pages (first page;
/// a deep page reached by tokens; a price-range page).
/// </summary>
internal static class QueryBenchmark
{
    private const string ApiToken = "bench-token";

    public static async Task<int> Main(string[] args)
    {
        var quick = args.Contains("--quick", StringComparer.Ordinal);
        var stores = Option(args, "--stores")?.Split(',') ?? ["dapr", "cosmos"];
        if (stores.Contains("cosmos", StringComparer.Ordinal) && CosmosDbServer.Unavailable() is { } reason)
        {
            // Said before anything runs, not as a crash halfway through.
            Console.WriteLine($"Cosmos DB store skipped: {reason}");
            stores = [.. stores.Where(store => store != "cosmos")];
        }

        var products = quick ? 300 : 2000;
        var samples = quick ? 200 : 2000;

        await using var postgres = await PostgresServer.StartAsync();
        foreach (var store in stores)
        {
            await using var cosmos = store == "cosmos" ? await CosmosDbServer.StartAsync() : null;
            var database = await postgres.CreateDatabaseAsync("bench_views_" + store);
            using var resources = new Resources().PostgresState(DaprNames.ViewStore, database);
            await using var sidecar = await Sidecar.StartAsync(new SidecarOptions
            {
                AppId = DaprNames.QueryService,
                ResourcesPaths = [resources.Path],
                ApiToken = ApiToken,
                LogLevel = "warn",
            });
            await RunAsync(store, sidecar, cosmos, products, samples);
        }

        return 0;
    }

    /// <summary>The query service on <paramref name="store"/>'s views: seeds them through the store, then measures each scenario.</summary>
    private static async Task RunAsync(string store, Sidecar sidecar, CosmosDbServer? cosmos, int products, int samples)
    {
        const int categories = 10;
        var port = FreePort.Next();
        await using var factory = new QueryServiceFactory(web =>
        {
            web.UseEnvironment("Production");
            web.UseContentRoot(Path.Combine(RepositoryPaths.Root, "src", "CqrsDapr.QueryService"));
            web.UseSetting("DAPR_HTTP_ENDPOINT", sidecar.HttpEndpoint);
            web.UseSetting("DAPR_GRPC_ENDPOINT", sidecar.GrpcEndpoint);
            web.UseSetting("DAPR_API_TOKEN", ApiToken);
            if (cosmos is not null)
            {
                web.UseSetting("ViewStore:Provider", "Cosmos");
                web.UseSetting("ViewStore:Cosmos:Endpoint", cosmos.Endpoint.ToString());
                web.UseSetting("ViewStore:Cosmos:AccountKey", CosmosDbServer.AccountKey);
                web.UseSetting("ViewStore:Cosmos:ConnectionMode", "Gateway");
                web.UseSetting("ViewStore:Cosmos:LimitToEndpoint", "true");
                web.UseSetting("ViewStore:Cosmos:ServerCertificatePath", cosmos.CertificatePath);
                web.UseSetting("ViewStore:Cosmos:CreateIfNotExists", "true");
                web.UseSetting("ViewStore:Cosmos:DiagnosticsThreshold", "00:01:00");
            }

            web.ConfigureLogging(logging => logging.ClearProviders());
        });
        factory.UseKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, port)); // not UseKestrel(port): it races the app starting Kestrel (dotnet/aspnetcore#67714)
        factory.StartServer();
        using var client = new HttpClient { BaseAddress = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}")) };

        var views = factory.Services.GetRequiredService<ViewGenerations>().Active;
        var ids = new List<Guid>(products);
        for (var i = 0; i < products; i++)
        {
            var view = ProductViewKeys.WithKeys(new ProductView
            {
                Id = Guid.CreateVersion7(),
                Sku = $"SKU-{i:D6}",
                Name = $"Product {(i * 7919) % products:D6}",
                Description = "Benchmark product",
                Category = $"cat-{i % categories}",
                Price = new Money(1m + (i * 37 % 1000), "EUR"),
                Stock = i % 50,
                Version = 1,
                CreatedAt = DateTimeOffset.UtcNow,
                UpdatedAt = DateTimeOffset.UtcNow.AddSeconds(i),
            });
            await views.TrySaveAsync(view, null, CancellationToken.None);
            ids.Add(view.Id);
        }

        var where = cosmos is null ? $"Dapr state store (state.postgresql v1), sidecar = {sidecar.Kind}" : "Cosmos DB SDK → stand-in server (@vercel/cosmosdb-server, Node.js, in memory; not Azure)";
        Console.WriteLine($"Query service read latency on {views.GetType().Name}: {where}; {products} products in {categories} categories, sequential requests");
        Console.WriteLine($"   {"scenario",-44} {"n",6} {"p50 ms",8} {"p99 ms",8} {"max ms",8}");
        await MeasureAsync("GET /api/products/{id}", samples, i => $"/api/products/{ids[i % ids.Count]}", client);
        await MeasureAsync("GET list, first page of 20 (category, name)", samples / 4, _ => "/api/products?category=cat-3&sort=name", client);
        var skipped = Math.Clamp((products / categories / 20) - 1, 1, 5);
        var deep = await TokenForPageAsync(client, "/api/products?category=cat-3&sort=-updatedAt&pageSize=20", skipped);
        await MeasureAsync($"GET list, page {skipped + 1} by token (-updatedAt)", samples / 4, _ => "/api/products?category=cat-3&sort=-updatedAt&pageSize=20&pageToken=" + deep, client);
        await MeasureAsync("GET list, price range 100-200 by name", samples / 4, _ => "/api/products?category=cat-3&minPrice=100&maxPrice=200&sort=name", client);
    }

    private static string? Option(string[] args, string name) =>
        Array.IndexOf(args, name) is var at and >= 0 && at + 1 < args.Length ? args[at + 1] : null;

    private static async Task<string> TokenForPageAsync(HttpClient client, string path, int pages)
    {
        string? token = null;
        for (var i = 0; i < pages; i++)
        {
            var json = await client.GetStringAsync(new Uri(path + (token is null ? "" : "&pageToken=" + token), UriKind.Relative));
            using var page = JsonDocument.Parse(json);
            token = page.RootElement.GetProperty("nextPageToken").GetString() ?? throw new InvalidOperationException("ran out of pages");
        }

        return token!;
    }

    private static async Task MeasureAsync(string name, int count, Func<int, string> path, HttpClient client)
    {
        for (var i = 0; i < Math.Min(50, count); i++)
        {
            using var warm = await client.GetAsync(new Uri(path(i), UriKind.Relative));
            warm.EnsureSuccessStatusCode();
        }

        var latencies = new double[count];
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            using var response = await client.GetAsync(new Uri(path(i), UriKind.Relative));
            await response.Content.ReadAsByteArrayAsync();
            latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            response.EnsureSuccessStatusCode();
        }

        Array.Sort(latencies);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"   {name,-44} {count,6} {Percentile(latencies, 0.50),8:F2} {Percentile(latencies, 0.99),8:F2} {latencies[^1],8:F2}"));
    }

    private static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private sealed class QueryServiceFactory(Action<IWebHostBuilder> configure) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder) => configure(builder);
    }
}
