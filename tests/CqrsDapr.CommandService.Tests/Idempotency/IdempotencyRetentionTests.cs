using System.Diagnostics;
using System.Diagnostics.Metrics;
using CqrsDapr.CommandService.Idempotency;
using CqrsDapr.CommandService.Persistence;
using CqrsDapr.CommandService.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CqrsDapr.CommandService.Tests.Idempotency;

/// <summary>The retention sweep of idempotency records, composed as the service composes it, on a fake clock.</summary>
public sealed class IdempotencyRetentionTests(WriteDatabaseServer server)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>A whole second, so arithmetic on it stays exact in PostgreSQL's microseconds.</summary>
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_sweep_deletes_exactly_the_records_older_than_the_retention_in_chunks()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        const int expiredCount = (2 * IdempotencyRetention.ChunkSize) + 3;
        await IdempotencyRecords.SeedAsync(connectionString, "expired-", expiredCount, Now - TimeSpan.FromHours(25));
        await IdempotencyRecords.SeedAsync(connectionString, "just-expired-", 1, Now - TimeSpan.FromHours(24) - TimeSpan.FromMicroseconds(1));
        await IdempotencyRecords.SeedAsync(connectionString, "exactly-24h-", 1, Now - TimeSpan.FromHours(24));
        await IdempotencyRecords.SeedAsync(connectionString, "an-hour-", 1, Now - TimeSpan.FromHours(1));
        await IdempotencyRecords.SeedAsync(connectionString, "now-", 1, Now);
        await using var services = Compose(connectionString, new FakeTimeProvider(Now));
        var deletedPerStatement = new List<long>();
        using var listener = ListenToDeletes(services, deletedPerStatement);

        var deleted = await Retention(services).DeleteExpiredAsync(Ct);

        Assert.Equal(expiredCount + 1, deleted);
        Assert.Equal(["an-hour-1", "exactly-24h-1", "now-1"], await IdempotencyRecords.KeysAsync(connectionString));
        // One statement per chunk, each deleting at most a chunk, and the metric counts every row.
        Assert.Equal([IdempotencyRetention.ChunkSize, IdempotencyRetention.ChunkSize, 4], deletedPerStatement);
    }

    [Fact]
    public async Task The_sweeper_sweeps_at_start_and_then_every_hour_of_its_clock()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        await IdempotencyRecords.SeedAsync(connectionString, "expired-", 1, Now - TimeSpan.FromHours(25));
        await IdempotencyRecords.SeedAsync(connectionString, "expires-within-the-hour-", 1, Now - TimeSpan.FromHours(23.5));
        await IdempotencyRecords.SeedAsync(connectionString, "fresh-", 1, Now);
        var clock = new FakeTimeProvider(Now);
        await using var services = Compose(connectionString, clock);
        var sweeper = Retention(services);

        await sweeper.StartAsync(Ct);
        try
        {
            await WaitForKeysAsync(connectionString, ["expires-within-the-hour-1", "fresh-1"], "the sweep at start");

            clock.Advance(TimeSpan.FromHours(1)); // the default interval: min(24 h retention, 1 h)
            await WaitForKeysAsync(connectionString, ["fresh-1"], "the sweep an hour later");
        }
        finally
        {
            await sweeper.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_failed_sweep_is_logged_and_retried_at_the_next_one()
    {
        var connectionString = await server.NewEmptyDatabaseAsync(); // no table yet: the first sweep fails
        var clock = new FakeTimeProvider(Now);
        var logs = new CollectedLogs();
        await using var services = Compose(connectionString, clock, logs: logs);
        var sweeper = Retention(services);

        await sweeper.StartAsync(Ct);
        try
        {
            await WaitUntilAsync(() => Task.FromResult(logs.Lines.Any(l => l.Contains("Idempotency retention sweep failed", StringComparison.Ordinal))), "the failed sweep's warning");
            await using (var db = WriteDatabaseServer.CreateContext(connectionString))
            {
                await db.Database.MigrateAsync(Ct);
            }

            await IdempotencyRecords.SeedAsync(connectionString, "expired-", 3, Now - TimeSpan.FromDays(2));

            clock.Advance(TimeSpan.FromHours(1));
            await WaitForKeysAsync(connectionString, [], "the next sweep");
        }
        finally
        {
            await sweeper.StopAsync(CancellationToken.None);
        }
    }

    [Theory]
    [InlineData(null, null, 24 * 60, 60)]
    [InlineData("00:10:00", null, 10, 10)]
    [InlineData("7.00:00:00", null, 7 * 24 * 60, 60)]
    [InlineData("00:10:00", "00:30:00", 10, 30)]
    public async Task The_sweep_interval_defaults_to_the_retention_at_most_hourly(string? retention, string? sweepInterval, int retentionMinutes, int sweepMinutes)
    {
        await using var services = Compose("Host=localhost;Database=unused", TimeProvider.System, Settings(("Idempotency:Retention", retention), ("Idempotency:SweepInterval", sweepInterval)));

        services.GetRequiredService<IStartupValidator>().Validate();
        var options = services.GetRequiredService<IOptions<IdempotencyOptions>>().Value;
        Assert.Equal(TimeSpan.FromMinutes(retentionMinutes), options.Retention);
        Assert.Equal(TimeSpan.FromMinutes(sweepMinutes), options.EffectiveSweepInterval);
    }

    [Theory]
    [InlineData("Idempotency:Retention", "00:00:00")]
    [InlineData("Idempotency:Retention", "-01:00:00")]
    [InlineData("Idempotency:SweepInterval", "00:00:00")]
    [InlineData("Idempotency:SweepInterval", "-00:01:00")]
    [InlineData("Idempotency:SweepInterval", "1.00:00:01")]
    public async Task Invalid_idempotency_options_stop_the_service_from_starting(string key, string value)
    {
        await using var services = Compose("Host=localhost;Database=unused", TimeProvider.System, Settings((key, value)));

        // What the host runs before starting any hosted service (ValidateOnStart).
        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    /// <summary>The write database and <c>AddIdempotency</c> from configuration, as the service composes them, on <paramref name="clock"/>.</summary>
    private static ServiceProvider Compose(string connectionString, TimeProvider clock, Dictionary<string, string?>? settings = null, CollectedLogs? logs = null)
    {
        var values = new Dictionary<string, string?> { [$"ConnectionStrings:{PersistenceModule.ConnectionName}"] = connectionString };
        foreach (var (key, value) in settings ?? [])
        {
            values[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.AddProvider(logs ?? new CollectedLogs()));
        services.AddSingleton<IConfiguration>(configuration);
        services.AddSingleton(clock);
        services.AddWriteDatabase(configuration);
        services.AddIdempotency(configuration);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    private static IdempotencyRetention Retention(IServiceProvider services) =>
        services.GetServices<IHostedService>().OfType<IdempotencyRetention>().Single();

    private static Dictionary<string, string?> Settings(params (string Key, string? Value)[] settings) =>
        settings.Where(s => s.Value is not null).ToDictionary(s => s.Key, s => s.Value);

    /// <summary>Each measurement of the deleted-records counter of these services' meters (other tests' meters share the name).</summary>
    private static MeterListener ListenToDeletes(IServiceProvider services, List<long> measurements)
    {
        var meterFactory = services.GetRequiredService<IMeterFactory>();
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, meterFactory) && instrument.Name == IdempotencyMetrics.DeletedCounterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) =>
        {
            lock (measurements)
            {
                measurements.Add(value);
            }
        });
        listener.Start();
        return listener;
    }

    private static Task WaitForKeysAsync(string connectionString, string[] expected, string what) =>
        WaitUntilAsync(async () => (await IdempotencyRecords.KeysAsync(connectionString)).SequenceEqual(expected), what);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > Patience)
            {
                throw new TimeoutException($"Waited {Patience} for {what}.");
            }

            await Task.Delay(50, Ct);
        }
    }
}
