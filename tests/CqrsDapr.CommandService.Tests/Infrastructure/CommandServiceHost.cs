using System.Diagnostics;
using System.Globalization;
using CqrsDapr.CommandService.Persistence;
using CqrsDapr.Contracts;
using CqrsDapr.TestSupport;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.CommandService.Tests.Infrastructure;

/// <summary>
/// The command service running for real, once per test class: its own migrated database on the shared server, a
/// Dapr sidecar (daprd or the emulator) with an in-memory actor state store and pub/sub, and the app on a free Kestrel port that
/// the sidecar calls for <c>/actors/...</c>. The app gets the sidecar's endpoints and API token through its own
/// configuration (not process-wide environment variables), so classes run in parallel. With <see cref="AppApiToken"/>
/// the sidecar presents an app API token and the app requires it.
/// </summary>
public class CommandServiceHost(WriteDatabaseServer server) : IAsyncLifetime
{
    public const string ApiToken = "products-test-token";

    private Resources? resources;
    private Sidecar? sidecar;
    private WebApplicationFactory<Program>? factory;

    public string ConnectionString { get; private set; } = "";

    public HttpClient Client { get; private set; } = new();

    public Sidecar Sidecar => sidecar ?? throw new InvalidOperationException("not started");

    /// <summary>What the app logged at warning level and above.</summary>
    public CollectedLogs Logs { get; } = new();

    public IServiceProvider Services => (factory ?? throw new InvalidOperationException("not started")).Services;

    /// <summary><c>APP_API_TOKEN</c> of the sidecar (which presents it) and the app (which requires it); null: none.</summary>
    public virtual string? AppApiToken => null;

    public async ValueTask InitializeAsync()
    {
        ConnectionString = await server.NewMigratedDatabaseAsync();
        // The relay publishes what the commands commit through this sidecar, as in production.
        resources = new Resources()
            .Component(DaprNames.ActorStore, "state.in-memory", new Dictionary<string, string> { ["actorStateStore"] = "true" })
            .Component(DaprNames.PubSub, "pubsub.in-memory");

        var appPort = FreePort.Next();
        sidecar = await Sidecar.StartAsync(new SidecarOptions
        {
            AppId = DaprNames.CommandService,
            AppPort = appPort,
            ResourcesPaths = [resources.Path],
            ApiToken = ApiToken,
            AppApiToken = AppApiToken,
            LogLevel = "warn",
        });

        factory = new CommandServiceFactory(web =>
        {
            web.UseEnvironment("Production"); // what clients see in production: no developer exception pages
            web.UseSetting($"ConnectionStrings:{PersistenceModule.ConnectionName}", ConnectionString);
            web.UseSetting("DAPR_HTTP_ENDPOINT", sidecar.HttpEndpoint);
            web.UseSetting("DAPR_GRPC_ENDPOINT", sidecar.GrpcEndpoint);
            web.UseSetting("DAPR_API_TOKEN", ApiToken);
            if (AppApiToken is { } appApiToken)
            {
                web.UseSetting("APP_API_TOKEN", appApiToken);
            }

            web.UseSetting("Logging:LogLevel:Default", "Warning");
            web.ConfigureLogging(logging => logging.ClearProviders().AddProvider(Logs));
            ConfigureApp(web);
        });
        // A real socket, not the in-memory test server: the sidecar calls the app's /actors endpoints over HTTP.
        factory.UseKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, appPort)); // not UseKestrel(port): it races the app starting Kestrel (dotnet/aspnetcore#67714)
        factory.StartServer();
        Client = new HttpClient { BaseAddress = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{appPort}")) };
        await WaitForActorHostingAsync();
    }

    /// <summary>What a derived host changes in the app (settings, services), after everything above.</summary>
    protected virtual void ConfigureApp(IWebHostBuilder web)
    {
    }

    /// <summary>A fresh context on this class's database, for arranging and checking rows directly.</summary>
    internal WriteDbContext Database() => WriteDatabaseServer.CreateContext(ConnectionString);

    /// <summary>Rows in products, outbox and idempotency_records: a rejected request must leave all three unchanged.</summary>
    public async Task<(int Products, int Outbox, int IdempotencyRecords)> RowCountsAsync()
    {
        await using var db = Database();
        var ct = TestContext.Current.CancellationToken;
        return (await db.Products.CountAsync(ct), await db.Outbox.CountAsync(ct), await db.IdempotencyRecords.CountAsync(ct));
    }

    /// <summary>The sidecar routes actor calls once it has read the app's <c>/dapr/config</c> and hosts its types.</summary>
    private async Task WaitForActorHostingAsync()
    {
        using var http = new HttpClient { BaseAddress = new Uri(Sidecar.HttpEndpoint) };
        http.DefaultRequestHeaders.Add("dapr-api-token", ApiToken);
        var clock = Stopwatch.StartNew();
        var last = "";
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            try
            {
                last = await http.GetStringAsync(new Uri("/v1.0/metadata", UriKind.Relative));
                if (last.Contains("\"ProductActor\"", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (HttpRequestException e)
            {
                last = e.Message;
            }

            await Task.Delay(100);
        }

        string app;
        try
        {
            using var config = await Client.GetAsync(new Uri("/dapr/config", UriKind.Relative));
            app = $"{(int)config.StatusCode} {await config.Content.ReadAsStringAsync()}";
        }
        catch (HttpRequestException e)
        {
            app = e.Message;
        }

        throw new TimeoutException($"The sidecar never hosted ProductActor. Last metadata: {last}\nApp /dapr/config: {app}\n{Sidecar.LogTail()}");
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (factory is not null)
        {
            await factory.DisposeAsync();
        }

        if (sidecar is not null)
        {
            await sidecar.DisposeAsync();
        }

        resources?.Dispose();
        GC.SuppressFinalize(this);
    }

    private sealed class CommandServiceFactory(Action<IWebHostBuilder> configure) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder) => configure(builder);
    }
}

/// <summary>The command service with an app API token: its sidecar presents it, the app requires it on Dapr's routes.</summary>
public sealed class AppTokenCommandServiceHost(WriteDatabaseServer server) : CommandServiceHost(server)
{
    public const string Token = "command-app-test-token";

    public override string? AppApiToken => Token;
}
