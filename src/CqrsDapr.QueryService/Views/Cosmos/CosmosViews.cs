using System.Collections.Concurrent;
using System.Collections.ObjectModel;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Azure.Identity;
using CqrsDapr.QueryService.DeadLetters;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Options;
using OpenTelemetry.Trace;

namespace CqrsDapr.QueryService.Views.Cosmos;

/// <summary>
/// The Cosmos DB view store's services: options, one <see cref="CosmosClient"/>, the generations' view stores, the
/// generations document, the dead letters, and the start-up check.
/// </summary>
internal static class CosmosViews
{
    public static WebApplicationBuilder AddCosmosViewStore(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddSource(ActivitySource));
        builder.Services.AddOptions<CosmosViewStoreOptions>()
            .Bind(builder.Configuration.GetSection(CosmosViewStoreOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<CosmosCallObserver>();
        builder.Services.AddSingleton(provider => CreateClient(provider.GetRequiredService<IOptions<CosmosViewStoreOptions>>().Value));
        builder.Services.AddSingleton<IProductViewStores, CosmosProductViewStores>();
        builder.Services.AddSingleton<IGenerationsStore, CosmosGenerationsStore>();
        builder.Services.AddSingleton<IDeadLetterStore, CosmosDeadLetterStore>();

        // Registered before the projection and the web server start: a missing container stops start-up with a clear message.
        builder.Services.AddHostedService<CosmosContainerSetup>();
        return builder;
    }

    /// <summary>The SDK's spans: one per operation (<c>read_item</c>, <c>query_items</c>, …) with the database, container and request charge.</summary>
    public const string ActivitySource = "Azure.Cosmos.Operation";

    /// <summary>
    /// A client for <paramref name="options"/>: account key or Entra ID (managed identity), System.Text.Json, the
    /// throttling retry policy, no response bodies on writes (nothing reads them). <paramref name="wrapHandler"/> lets
    /// tests put a handler between the SDK and the network (gateway mode).
    /// </summary>
    public static CosmosClient CreateClient(CosmosViewStoreOptions options, Func<HttpMessageHandler, HttpMessageHandler>? wrapHandler = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var endpoint = options.Endpoint?.ToString() ?? throw new InvalidOperationException($"{CosmosViewStoreOptions.Section}:Endpoint is required.");
        // The SDK emits its operation spans only with Azure's activity-source switch on (still marked experimental).
        AppContext.SetSwitch("Azure.Experimental.EnableActivitySource", true);
        var clientOptions = new CosmosClientOptions
        {
            CosmosClientTelemetryOptions = new CosmosClientTelemetryOptions { DisableDistributedTracing = false },
            ApplicationPreferredRegions = options.PreferredRegions,
            ApplicationName = "cqrsdapr-query-service",
            ConnectionMode = options.ConnectionMode,
            LimitToEndpoint = options.LimitToEndpoint,
            MaxRetryAttemptsOnRateLimitedRequests = options.MaxRetryAttemptsOnThrottling,
            MaxRetryWaitTimeOnRateLimitedRequests = options.MaxRetryWaitOnThrottling,
            UseSystemTextJsonSerializerWithOptions = JsonSerializerOptions.Web,
            EnableContentResponseOnWrite = false,
        };
        if (!string.IsNullOrEmpty(options.ServerCertificatePath) || wrapHandler is not null)
        {
            var pinned = options.ServerCertificatePath is { Length: > 0 } path ? X509Certificate2.CreateFromPem(File.ReadAllText(path)) : null;
            clientOptions.HttpClientFactory = () =>
            {
                HttpMessageHandler handler = Handler(pinned);
                return new HttpClient(wrapHandler is null ? handler : wrapHandler(handler));
            };
        }

        if (!string.IsNullOrEmpty(options.AccountKey))
        {
            return new CosmosClient(endpoint, options.AccountKey, clientOptions);
        }

        var credential = string.IsNullOrEmpty(options.ManagedIdentityClientId)
            ? new DefaultAzureCredential()
            : new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = options.ManagedIdentityClientId });
        return new CosmosClient(endpoint, credential, clientOptions);
    }

    /// <summary>The container's definition: partition key <c>/pk</c>, and the composite indexes the list queries' ORDER BY needs.</summary>
    public static ContainerProperties ContainerProperties(string name)
    {
        var properties = new ContainerProperties(name, "/pk");
        properties.IndexingPolicy.ExcludedPaths.Add(new ExcludedPath { Path = "/description/?" });
        foreach (var field in new[] { "nameKey", "priceKey", "updatedAtKey" })
        {
            // Cosmos DB serves ORDER BY f DESC, id DESC from the ascending index too; the local stand-in server wants
            // each direction declared, which costs a few index terms per write.
            foreach (var order in new[] { CompositePathSortOrder.Ascending, CompositePathSortOrder.Descending })
            {
                properties.IndexingPolicy.CompositeIndexes.Add(new Collection<CompositePath>
                {
                    new() { Path = $"/{field}", Order = order },
                    new() { Path = "/id", Order = order },
                });
            }
        }

        return properties;
    }

    /// <summary>
    /// TLS for the gateway: with <paramref name="pinned"/>, exactly that certificate (a local emulator's self-signed one)
    /// and no other; without, the machine's trust store.
    /// </summary>
    private static SocketsHttpHandler Handler(X509Certificate2? pinned) => new()
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        SslOptions = pinned is null
            ? new SslClientAuthenticationOptions()
            : new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetRawCertData().AsSpan().SequenceEqual(pinned.RawData),
            },
    };
}

/// <summary>The Cosmos DB container's generations, one <see cref="CosmosProductViewStore"/> each, over one client.</summary>
internal sealed class CosmosProductViewStores(CosmosClient client, IOptions<CosmosViewStoreOptions> options, CosmosCallObserver observer) : IProductViewStores
{
    private readonly ConcurrentDictionary<int, IProductViewStore> stores = new();
    private readonly Container container = client.GetContainer(options.Value.Database, options.Value.Container);

    public IProductViewStore Generation(int generation) =>
        stores.GetOrAdd(generation, g => new CosmosProductViewStore(container, options.Value, observer, g));
}

/// <summary>
/// At start-up: creates the database and container when <see cref="CosmosViewStoreOptions.CreateIfNotExists"/> allows,
/// otherwise checks they exist with partition key <c>/pk</c>; fails start-up with what to do when not.
/// </summary>
internal sealed partial class CosmosContainerSetup(CosmosClient client, IOptions<CosmosViewStoreOptions> options, ILogger<CosmosContainerSetup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        ContainerProperties properties;
        try
        {
            if (settings.CreateIfNotExists)
            {
                Database database = await client.CreateDatabaseIfNotExistsAsync(settings.Database, cancellationToken: cancellationToken);
                var throughput = settings.AutoscaleMaxThroughput is { } max ? ThroughputProperties.CreateAutoscaleThroughput(max) : null;
                properties = (await database.CreateContainerIfNotExistsAsync(CosmosViews.ContainerProperties(settings.Container), throughput, cancellationToken: cancellationToken)).Resource;
            }
            else
            {
                properties = (await client.GetContainer(settings.Database, settings.Container).ReadContainerAsync(cancellationToken: cancellationToken)).Resource;
            }
        }
        catch (CosmosException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            throw new InvalidOperationException(
                $"The Cosmos DB container '{settings.Container}' in database '{settings.Database}' at {settings.Endpoint} does not exist, and " +
                $"{CosmosViewStoreOptions.Section}:CreateIfNotExists is off. Create it with partition key /pk and the indexing policy in " +
                "src/CqrsDapr.QueryService/Views/Cosmos/README.md, or allow the service to create it.",
                ex);
        }
        catch (ArgumentException ex) when (settings.CreateIfNotExists)
        {
            // The SDK's CreateContainerIfNotExists found the container with another partition key.
            throw new InvalidOperationException(
                $"The Cosmos DB container '{settings.Container}' exists with another partition key; the view store needs /pk (a partition key cannot be changed: use a new container). {ex.Message}",
                ex);
        }
        catch (CosmosException ex)
        {
            throw new InvalidOperationException(
                $"The Cosmos DB view store at {settings.Endpoint} cannot be used: {(int)ex.StatusCode} {ex.StatusCode}. Check {CosmosViewStoreOptions.Section}:Endpoint, the key or the identity's role.",
                ex);
        }

        if (properties.PartitionKeyPath != "/pk")
        {
            throw new InvalidOperationException(
                $"The Cosmos DB container '{settings.Container}' has partition key {properties.PartitionKeyPath}; the view store needs /pk (a partition key cannot be changed: use a new container).");
        }

        LogReady(logger, settings.Database, settings.Container, settings.PartitionBuckets);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Product views in Cosmos DB: database {Database}, container {Container}, {Buckets} partitions per generation")]
    private static partial void LogReady(ILogger logger, string database, string container, int buckets);
}
