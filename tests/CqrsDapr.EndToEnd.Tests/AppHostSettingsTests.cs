using System.Globalization;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace CqrsDapr.EndToEnd.Tests;

/// <summary>
/// How the AppHost configures its resources (arguments, environment), read from its application model: nothing is started.
/// </summary>
public sealed class AppHostSettingsTests
{
    private const string GatewayRateLimit = "Gateway__RateLimit__PermitLimit";

    [Fact]
    public async Task Rate_limit_setting_is_passed_to_the_gateway()
    {
        var environment = await GatewayEnvironmentAsync("--CqrsDapr:Gateway:RateLimitPermits=250000");

        Assert.Equal("250000", environment[GatewayRateLimit]);
    }

    [Fact]
    public async Task Without_the_setting_the_gateway_keeps_its_own_rate_limit()
    {
        var environment = await GatewayEnvironmentAsync();

        Assert.False(environment.ContainsKey(GatewayRateLimit));
    }

    [Theory]
    [InlineData("writedb")]
    [InlineData("readdb")]
    public async Task Database_servers_take_more_connections_than_a_service_pool_and_its_neighbours_open(string server)
    {
        var configuration = await ConfigurationAsync(server, []);

        // One Npgsql pool at its default size (the command service's), plus the relay's LISTEN connection, a sidecar's
        // state-store pool, health checks and an operator's psql: PostgreSQL's own default (100) refused them.
        var setting = Assert.Single(configuration.Arguments, argument => argument.Value.StartsWith("max_connections=", StringComparison.Ordinal));
        var maxConnections = int.Parse(setting.Value["max_connections=".Length..], CultureInfo.InvariantCulture);
        Assert.True(maxConnections >= new NpgsqlConnectionStringBuilder().MaxPoolSize + 20, $"max_connections={maxConnections}");
    }

    private static async Task<Dictionary<string, string>> GatewayEnvironmentAsync(params string[] settings) =>
        (await ConfigurationAsync("gateway", settings)).EnvironmentVariables.ToDictionary();

    /// <summary>A resource's arguments and environment as the AppHost would start it with these settings.</summary>
    private static async Task<IExecutionConfigurationResult> ConfigurationAsync(string resourceName, string[] settings)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var dataDirectory = Path.Combine(Path.GetTempPath(), "cqrsdapr-e2e", Guid.NewGuid().ToString("N")); // the model makes redis/ in it
        try
        {
            await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.CqrsDapr_AppHost>(
                [$"--CqrsDapr:DataDirectory={dataDirectory}", "--CqrsDapr:Ports:gateway=0", .. settings], cancellationToken);
            var resource = builder.Resources.Single(resource => resource.Name == resourceName);

            // Publish mode: values that refer to endpoints stay expressions, so nothing waits for allocated ports.
            return await ExecutionConfigurationBuilder.Create(resource)
                .WithArgumentsConfig()
                .WithEnvironmentVariablesConfig()
                .BuildAsync(new DistributedApplicationExecutionContext(DistributedApplicationOperation.Publish), NullLogger.Instance, cancellationToken);
        }
        finally
        {
            if (Directory.Exists(dataDirectory))
            {
                Directory.Delete(dataDirectory, recursive: true);
            }
        }
    }
}
