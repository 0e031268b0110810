using System.Net;
using CqrsDapr.CommandService.Tests.Infrastructure;
using CqrsDapr.ServiceDefaults;
using Microsoft.AspNetCore.Hosting;

namespace CqrsDapr.CommandService.Tests.Outbox;

/// <summary>The command service with its relay off: committed events stay unpublished, as while the broker is down.</summary>
public sealed class RelayOffCommandServiceHost(WriteDatabaseServer server) : CommandServiceHost(server)
{
    protected override void ConfigureApp(IWebHostBuilder web)
    {
        web.UseSetting("Outbox:Enabled", "false");
        web.UseSetting("Outbox:DegradedAfter", "00:00:00.500");
    }
}

/// <summary>
/// What probes see: a Degraded outbox still answers 200 on <c>/health</c> (readiness: the pod keeps its traffic and
/// the AppHost's <c>WithHttpHealthCheck</c>, which only compares the status code, still counts it healthy), with
/// "Degraded" as the body; <c>/alive</c> does not run the check at all.
/// </summary>
public sealed class OutboxHealthEndpointTests(RelayOffCommandServiceHost host) : IClassFixture<RelayOffCommandServiceHost>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_event_left_unpublished_makes_health_answer_200_Degraded_and_alive_stays_Healthy()
    {
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync(ServiceDefaultsExtensions.HealthPath));

        await OutboxRows.CommitAsync(host.ConnectionString, 1);
        await Task.Delay(TimeSpan.FromSeconds(1), Ct); // beyond Outbox:DegradedAfter

        Assert.Equal((HttpStatusCode.OK, "Degraded"), await GetAsync(ServiceDefaultsExtensions.HealthPath));
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync(ServiceDefaultsExtensions.AlivePath));
    }

    private async Task<(HttpStatusCode, string)> GetAsync(string path)
    {
        using var response = await host.Client.GetAsync(new Uri(path, UriKind.Relative), Ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(Ct));
    }
}
