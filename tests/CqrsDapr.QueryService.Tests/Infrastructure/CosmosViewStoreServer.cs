using CqrsDapr.QueryService.Views.Cosmos;
using CqrsDapr.TestSupport;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CqrsDapr.QueryService.Tests.Infrastructure;

/// <summary>
/// The Cosmos DB stand-in (<see cref="CosmosDbServer"/>) with the view store's container created the way the service
/// creates it at start-up, and the options a test client uses (gateway mode, this server's certificate pinned).
/// </summary>
public sealed class CosmosViewStoreServer : IAsyncLifetime
{
    private CosmosDbServer? server;

    public CosmosDbServer Server => server ?? throw new InvalidOperationException("not started");

    internal CosmosClient Client { get; private set; } = null!;

    internal CosmosCallObserver Observer { get; } = new(Options.Create(new CosmosViewStoreOptions()), NullLogger<CosmosCallObserver>.Instance, new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());

    /// <summary>Options for this server with <paramref name="buckets"/> partitions per generation (3 by default: lists merge).</summary>
    internal CosmosViewStoreOptions OptionsFor(int buckets = 3, string container = "product-views") => new()
    {
        Endpoint = Server.Endpoint,
        AccountKey = CosmosDbServer.AccountKey,
        ConnectionMode = ConnectionMode.Gateway,
        LimitToEndpoint = true,
        ServerCertificatePath = Server.CertificatePath,
        CreateIfNotExists = true,
        PartitionBuckets = buckets,
        Container = container,
    };

    public async ValueTask InitializeAsync()
    {
        server = await CosmosDbServer.StartAsync();
        Client = CosmosViews.CreateClient(OptionsFor());
    }

    /// <summary>Creates the database and container of <paramref name="options"/> the way the service does at start-up.</summary>
    internal Task CreateContainerAsync(CosmosViewStoreOptions options) =>
        new CosmosContainerSetup(Client, Options.Create(options), NullLogger<CosmosContainerSetup>.Instance).StartAsync(TestContext.Current.CancellationToken);

    internal Container Container(CosmosViewStoreOptions options) => Client.GetContainer(options.Database, options.Container);

    public async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }
}
