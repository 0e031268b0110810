using CqrsDapr.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace CqrsDapr.Gateway.Tests;

public sealed class GatewayConfigurationTests
{
    [Theory]
    [InlineData("Gateway:MaxRequestBodyBytes", "0")]
    [InlineData("Gateway:RateLimit:PermitLimit", "-1")]
    [InlineData("Gateway:RateLimit:WindowSeconds", "0")]
    [InlineData("Gateway:TrustedProxies:0", "not-an-address")]
    [InlineData("Gateway:TrustedProxies:0", "10.0.0.0/99")]
    public async Task The_gateway_refuses_to_start_with_an_invalid_setting(string key, string value)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var gateway = await GatewayScenario.StartAsync(new Dictionary<string, string?> { [key] = value });
        });

        var setting = key.EndsWith(":0", StringComparison.Ordinal) ? key[..^2] : key;
        Assert.Contains(setting, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_gateway_refuses_to_start_without_a_route_table()
    {
        // Started outside its content root, the gateway does not find appsettings.json and so has no routes.
        var elsewhere = Directory.CreateTempSubdirectory("cqrsdapr-gateway-");
        try
        {
            using var factory = new WithoutAppSettings(elsewhere.FullName);
            var error = Assert.Throws<InvalidOperationException>(() => factory.Server);
            Assert.Contains("ReverseProxy:Routes", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            elsewhere.Delete(recursive: true);
        }
    }

    private sealed class WithoutAppSettings(string contentRoot) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder) =>
            builder.UseEnvironment(Environments.Production).UseContentRoot(contentRoot);
    }
}
