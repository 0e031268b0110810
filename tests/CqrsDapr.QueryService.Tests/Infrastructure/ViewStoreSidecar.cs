using System.Text;
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

    private string? resources;
    private Sidecar? sidecar;

    public Sidecar Sidecar => sidecar ?? throw new InvalidOperationException("not started");

    public DaprClient Client { get; private set; } = null!;

    /// <summary>Plain HTTP to the sidecar, with its API token (what the store uses for bulk saves).</summary>
    public HttpClient Http { get; } = new();

    public async ValueTask InitializeAsync()
    {
        var connectionString = await server.NewDatabaseAsync();
        resources = Path.Combine(Path.GetTempPath(), "cqrsdapr-tests", "viewstore-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(resources);
        await File.WriteAllTextAsync(Path.Combine(resources, "viewstore.yaml"), $"""
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: {DaprNames.ViewStore}
            spec:
              type: state.postgresql
              version: v1
              metadata:
              - name: connectionString
                value: "{PostgresConnectionStrings.ToLibpq(connectionString).Replace("\"", "\\\"", StringComparison.Ordinal)}"
            """, Encoding.UTF8);
        sidecar = await Sidecar.StartAsync(new SidecarOptions
        {
            AppId = DaprNames.QueryService,
            ResourcesPaths = [resources],
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

        if (resources is not null)
        {
            try
            {
                Directory.Delete(resources, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
