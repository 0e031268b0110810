using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace CqrsDapr.EndToEnd.Tests;

/// <summary>
/// AppHost settings that reach a resource's environment, read from the AppHost's application model: nothing is started.
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

    private static async Task<Dictionary<string, string>> GatewayEnvironmentAsync(params string[] settings)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var dataDirectory = Path.Combine(Path.GetTempPath(), "cqrsdapr-e2e", Guid.NewGuid().ToString("N")); // the model makes redis/ in it
        try
        {
            await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.CqrsDapr_AppHost>(
                [$"--CqrsDapr:DataDirectory={dataDirectory}", "--CqrsDapr:Ports:gateway=0", .. settings], cancellationToken);
            var gateway = builder.Resources.OfType<ProjectResource>().Single(resource => resource.Name == "gateway");

            // Publish mode: values that refer to endpoints stay expressions, so nothing waits for allocated ports.
            var configuration = await ExecutionConfigurationBuilder.Create(gateway)
                .WithEnvironmentVariablesConfig()
                .BuildAsync(new DistributedApplicationExecutionContext(DistributedApplicationOperation.Publish), NullLogger.Instance, cancellationToken);
            return configuration.EnvironmentVariables.ToDictionary();
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
