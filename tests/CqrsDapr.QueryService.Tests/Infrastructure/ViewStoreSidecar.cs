using CqrsDapr.Contracts;
using CqrsDapr.TestSupport;
using Dapr.Client;

namespace CqrsDapr.QueryService.Tests.Infrastructure;

/// <summary>
/// A Dapr sidecar (the emulator unless daprd is installed) with the production-shaped <c>viewstore</c> component:
/// <c>state.postgresql</c> v1 on its own fresh read database. The query API is not scoped by app id, so a database per
/// sidecar keeps classes apart; tests within a class keep apart by using their own categories.
/// </summary>
public sealed class ViewStoreSidecar(ReadDatabaseServer server) : IAsyncLifetime
{
    public const string ApiToken = "views-test-token";

    private Resources? resources;
    private Sidecar? sidecar;

    public Sidecar Sidecar => sidecar ?? throw new InvalidOperationException("not started");

    public DaprClient Client { get; private set; } = null!;

    /// <summary>Plain HTTP to the sidecar, with its API token (what the store uses for bulk saves).</summary>
    public HttpClient Http { get; } = new();

    public async ValueTask InitializeAsync()
    {
        var connectionString = await server.NewDatabaseAsync();
        resources = new Resources().PostgresState(DaprNames.ViewStore, connectionString);
        sidecar = await Sidecar.StartAsync(new SidecarOptions
        {
            AppId = DaprNames.QueryService,
            ResourcesPaths = [resources.Path],
            ApiToken = ApiToken,
            LogLevel = "warn",
        });
        Client = new DaprClientBuilder()
            .UseGrpcEndpoint(sidecar.GrpcEndpoint)
            .UseHttpEndpoint(sidecar.HttpEndpoint)
            .UseDaprApiToken(ApiToken)
            .Build();
        QueryService.SidecarHttp.Configure(Http, sidecar.HttpEndpoint, ApiToken);
    }

    public async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        Http.Dispose();
        if (sidecar is not null)
        {
            await sidecar.DisposeAsync();
        }

        resources?.Dispose();
    }
}
