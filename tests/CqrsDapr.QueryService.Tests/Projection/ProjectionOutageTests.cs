using System.Text.Json;
using CqrsDapr.QueryService.Projection;
using CqrsDapr.QueryService.Tests.Infrastructure;
using static CqrsDapr.QueryService.Tests.Infrastructure.ProductEvents;

namespace CqrsDapr.QueryService.Tests.Projection;

/// <summary>
/// A read-database outage with the deployed resiliency: deliveries answered RETRY are retried by the sidecar until the
/// store is back, instead of going to the dead-letter topic on the first RETRY (what daprd does with a dead-letter
/// topic and no inbound retry policy).
/// </summary>
public sealed class ProjectionOutageTests(ResilientQueryServiceHost host) : IClassFixture<ResilientQueryServiceHost>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Events_delivered_while_the_view_store_is_down_are_applied_once_it_is_back_and_never_dead_lettered()
    {
        var ct = TestContext.Current.CancellationToken;
        var id = Guid.NewGuid();
        await host.PublishAsync(Created(id));
        Assert.NotNull(await host.ViewAtVersionAsync(id, 1, Patience));

        await host.ReadServer.StopAsync();
        var renamed = Updated(id, 2, "Renamed during the outage");
        await host.PublishAsync(renamed);
        await Task.Delay(TimeSpan.FromSeconds(2), ct); // the outage: deliveries fail meanwhile and are answered RETRY
        await host.ReadServer.RestartAsync(ct);

        var view = await host.ViewAtVersionAsync(id, 2, Patience);
        Assert.Equal(("Renamed during the outage", 2L), (view?.Name, view?.Version));
        using var deadLetters = JsonDocument.Parse(await host.Client.GetStringAsync(new Uri(ProjectionModule.DeadLettersRoute, UriKind.Relative), ct));
        Assert.DoesNotContain(renamed.EventId.ToString("D"), deadLetters.RootElement.GetRawText(), StringComparison.Ordinal);
    }
}
