using CqrsDapr.Gateway.Tests.Infrastructure;
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
}
