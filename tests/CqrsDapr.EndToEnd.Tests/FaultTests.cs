namespace CqrsDapr.EndToEnd.Tests;

/// <summary>
/// Crashes (SIGKILL, no shutdown code) of each part of the running system while clients keep writing through the
/// gateway. After the part is restarted, every write a client saw accepted is visible exactly once, and the views
/// agree with the write database. Parts the write path does not need (the read side, the read database, the broker)
/// must not cost a single write.
/// </summary>
[Collection(WholeSystem.Name)]
public sealed class FaultTests(SystemFixture system)
{
    [Fact]
    public Task The_query_service_and_its_sidecar_crash_and_restart_during_writes() =>
        CrashDrill.RunAsync(system, writesMustAllSucceed: true, "query-service", "query-service-dapr");

    [Fact]
    public Task The_command_service_crashes_and_restarts_during_writes() =>
        CrashDrill.RunAsync(system, writesMustAllSucceed: false, "command-service");

    [Fact]
    public Task The_read_database_crashes_and_restarts_during_writes() =>
        CrashDrill.RunAsync(system, writesMustAllSucceed: true, "readdb");

    [Fact]
    public Task Redis_crashes_and_restarts_during_writes() =>
        CrashDrill.RunAsync(system, writesMustAllSucceed: true, "redis");
}

/// <summary>
/// The query service's crash on the system whose views live in Cosmos DB: the projection resumes against the Cosmos
/// store (lost races, re-reads, ETags) and the views end equal to the write database. (The stand-in server itself is
/// not crashed: it keeps nothing across a restart.)
/// </summary>
[Collection(WholeSystemOnCosmos.Name)]
public sealed class FaultOnCosmosTests(CosmosSystemFixture system)
{
    [Fact]
    public Task The_query_service_and_its_sidecar_crash_and_restart_during_writes() =>
        CrashDrill.RunAsync(system, writesMustAllSucceed: true, "query-service", "query-service-dapr");
}

/// <summary>One crash: writes flowing, the resources killed, restarted, writes flowing again, then reconciliation.</summary>
internal static class CrashDrill
{
    private static readonly TimeSpan Progress = TimeSpan.FromSeconds(60);

    /// <param name="system">The running system.</param>
    /// <param name="writesMustAllSucceed">The crashed parts are not on the write path: no write may fail.</param>
    /// <param name="resources">What crashes; restarted in this order.</param>
    public static async Task RunAsync(SystemFixture system, bool writesMustAllSucceed, params string[] resources)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var writes = WriteStream.Start(system.Gateway);
        await writes.WaitForMoreAsync(100, Progress);

        await system.KillAsync(resources);
        if (writesMustAllSucceed)
        {
            await writes.WaitForMoreAsync(100, Progress); // the write side carries on without it
        }
        else
        {
            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken); // clients get errors meanwhile
        }

        await system.StartAsync(resources.Reverse().ToArray());
        await writes.WaitForMoreAsync(100, Progress);
        await writes.StopAsync();

        if (writesMustAllSucceed)
        {
            Assert.Equal(0, writes.Failed);
        }

        var accepted = writes.Accepted.Values.ToList();
        await Reconciliation.AssertNoAcceptedWriteIsLostAsync(system, accepted, cancellationToken);
        await Reconciliation.AssertEveryAcceptedWriteIsVisibleAsync(system, accepted, cancellationToken);
        await Reconciliation.AssertViewsMatchWriteDatabaseAsync(system, cancellationToken);
    }
}
