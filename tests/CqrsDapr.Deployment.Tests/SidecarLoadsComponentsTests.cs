using System.Text.Json;
using CqrsDapr.Contracts;
using CqrsDapr.TestSupport;

namespace CqrsDapr.Deployment.Tests;

/// <summary>
/// <c>components/</c> as it is, loaded by a sidecar (daprd, or the emulator that mirrors it) for each app-id, with the
/// secrets the README tells users to export pointing at throwaway servers: each app gets exactly its components.
/// </summary>
public sealed class SidecarLoadsComponentsTests : IAsyncLifetime
{
    private PostgresServer? postgres;
    private RedisServer? redis;
    private Dictionary<string, string> secrets = [];

    public async ValueTask InitializeAsync()
    {
        postgres = await PostgresServer.StartAsync();
        redis = await RedisServer.StartAsync();
        var write = await postgres.CreateDatabaseAsync("components_write");
        var read = await postgres.CreateDatabaseAsync("components_read");
        secrets = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["REDIS_HOST"] = redis.ConnectionString,
            ["WRITEDB_DAPR_CONNECTION"] = PostgresConnectionStrings.ToLibpq(write),
            ["READDB_DAPR_CONNECTION"] = PostgresConnectionStrings.ToLibpq(read),
        };
    }

    [Theory]
    [InlineData(DaprNames.CommandService, new[] { DaprNames.ActorStore, "envsecrets", DaprNames.PubSub })]
    [InlineData(DaprNames.QueryService, new[] { "envsecrets", DaprNames.PubSub, DaprNames.ViewStore })]
    public async Task Each_app_id_loads_its_components_from_the_repository(string appId, string[] expected)
    {
        await using var sidecar = await Sidecar.StartAsync(new SidecarOptions
        {
            AppId = appId,
            ResourcesPaths = [DaprResourceFiles.ComponentsPath],
            LogLevel = "info",
            Environment = secrets,
        }, TestContext.Current.CancellationToken);
        using var http = new HttpClient { BaseAddress = new Uri(sidecar.HttpEndpoint) };

        using var metadata = JsonDocument.Parse(await http.GetStringAsync(new Uri("/v1.0/metadata", UriKind.Relative), TestContext.Current.CancellationToken));

        var loaded = metadata.RootElement.GetProperty("components").EnumerateArray().Select(c => c.GetProperty("name").GetString()).Order().ToArray();
        Assert.True(expected.SequenceEqual(loaded), $"loaded [{string.Join(", ", loaded)}]\n{sidecar.LogTail()}");
    }

    public async ValueTask DisposeAsync()
    {
        if (redis is not null)
        {
            await redis.DisposeAsync();
        }

        if (postgres is not null)
        {
            await postgres.DisposeAsync();
        }
    }
}
