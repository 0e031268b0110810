namespace CqrsDapr.Gateway.Tests.Infrastructure;

/// <summary>A fresh gateway with its two fake services for every test, so recorded requests never leak between tests.</summary>
public abstract class GatewayTest : IAsyncLifetime
{
    private GatewayScenario? gateway;

    protected GatewayScenario Gateway => gateway ?? throw new InvalidOperationException("not started");

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => gateway = await GatewayScenario.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (gateway is not null)
        {
            await gateway.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}
