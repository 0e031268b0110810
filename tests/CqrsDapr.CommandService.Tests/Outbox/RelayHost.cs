using CqrsDapr.CommandService.Outbox;
using CqrsDapr.CommandService.Persistence;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CqrsDapr.CommandService.Tests.Outbox;

/// <summary>
/// One relay as the service composes it (<c>AddWriteDatabase</c> + <c>AddOutbox</c> from configuration), with the
/// broker replaced by a test double. Disposing stops it the way the host does on shutdown.
/// </summary>
internal sealed class RelayHost : IAsyncDisposable
{
    private readonly ServiceProvider provider;
    private bool stopped;

    private RelayHost(ServiceProvider provider)
    {
        this.provider = provider;
        Relay = provider.GetRequiredService<OutboxRelay>();
    }

    public OutboxRelay Relay { get; }

    /// <summary>
    /// Fast retries unless overridden: tests should not wait seconds for a backoff. The relay publishes every row
    /// (<c>Outbox:PublishOnCommit</c> false) unless overridden. With <paramref name="time"/> the
    /// relay and the health check run on that clock.
    /// </summary>
    public static ServiceProvider Compose(
        string connectionString, IOutboxPublisher publisher, IDictionary<string, string?>? settings = null, TimeProvider? time = null)
    {
        var values = new Dictionary<string, string?>
        {
            [$"ConnectionStrings:{PersistenceModule.ConnectionName}"] = connectionString,
            ["Outbox:InitialBackoff"] = "00:00:00.100",
            ["Outbox:MaxBackoff"] = "00:00:00.500",
            // The relay as the publisher of every row, woken by NOTIFY; the dispatch's tests turn this back on.
            ["Outbox:PublishOnCommit"] = "false",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.AddProvider(new TestOutputLoggerProvider()));
        services.AddSingleton<IConfiguration>(configuration);
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        services.AddWriteDatabase(configuration);
        services.AddOutbox(configuration);
        services.AddSingleton(publisher);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    public static async Task<RelayHost> StartAsync(string connectionString, IOutboxPublisher publisher, IDictionary<string, string?>? settings = null)
    {
        var host = new RelayHost(Compose(connectionString, publisher, settings));
        await host.Relay.StartAsync(TestContext.Current.CancellationToken);
        return host;
    }

    public async Task StopAsync()
    {
        if (!stopped)
        {
            stopped = true;
            await Relay.StopAsync(CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await provider.DisposeAsync();
    }
}
