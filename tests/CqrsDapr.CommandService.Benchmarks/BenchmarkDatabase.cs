using CqrsDapr.CommandService.Outbox;
using CqrsDapr.CommandService.Persistence;
using CqrsDapr.Contracts;
using CqrsDapr.Contracts.Products;
using CqrsDapr.TestSupport;
using Microsoft.EntityFrameworkCore;

namespace CqrsDapr.CommandService.Benchmarks;

/// <summary>Fresh migrated databases on one throwaway server, and the relay composed as the service composes it.</summary>
internal sealed class BenchmarkDatabase(PostgresServer server)
{
    private int counter;

    public PostgresServer Server => server;

    public async Task<string> NewMigratedAsync(string label)
    {
        var connectionString = await server.CreateDatabaseAsync($"bench_{label}_{Interlocked.Increment(ref counter)}");
        await using var db = CreateContext(connectionString);
        await db.Database.MigrateAsync();
        return connectionString;
    }

    public static WriteDbContext CreateContext(string connectionString)
    {
        var options = new DbContextOptionsBuilder<WriteDbContext>();
        PersistenceModule.Configure(options, connectionString);
        return new WriteDbContext(options.Options);
    }

    /// <summary>The service's composition (<c>AddWriteDatabase</c> + <c>AddOutbox</c>) with the broker replaced.</summary>
    public static ServiceProvider Compose(string connectionString, IOutboxPublisher publisher, params (string Key, string Value)[] settings)
    {
        var values = new Dictionary<string, string?> { [$"ConnectionStrings:{PersistenceModule.ConnectionName}"] = connectionString };
        foreach (var (key, value) in settings)
        {
            values[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton<IConfiguration>(configuration);
        services.AddWriteDatabase(configuration);
        services.AddOutbox(configuration);
        services.AddSingleton(publisher);
        return services.BuildServiceProvider();
    }

    public static OutboxMessage NewEvent(Products.Product product) =>
        OutboxMessage.For(new ProductCreated(Snapshot(product)), product.Id.ToString(), product.Version, product.CreatedAt, "bench", null);

    public static Products.Product NewProduct(long n)
    {
        var now = DateTimeOffset.UtcNow;
        return new Products.Product
        {
            Id = Guid.CreateVersion7(now),
            Sku = $"SKU-{n:D10}-{Guid.NewGuid():N}",
            Name = $"Product {n}",
            Description = "A product created by the benchmark.",
            Category = "bench",
            PriceAmount = 19.99m,
            PriceCurrency = "EUR",
            Stock = 10,
            Version = 1,
            CreatedAt = now,
            UpdatedAt = now,
        };
    }

    public static ProductSnapshot Snapshot(Products.Product p) =>
        new(p.Id, p.Sku, p.Name, p.Description, p.Category, new Money(p.PriceAmount, p.PriceCurrency), p.Stock, p.Version, p.CreatedAt);

    /// <summary>A typical event payload (a ProductCreated) as the write path stores it.</summary>
    public static string SamplePayload() =>
        NewEvent(NewProduct(1)).Payload;

    public static string Topic => Topics.Products;
}
