using System.Net;
using CqrsDapr.DaprEmulator.Tests.Infrastructure;

namespace CqrsDapr.DaprEmulator.Tests.Hosting;

public sealed class SidecarBasicsTests
{
    [Fact]
    public async Task A_sidecar_without_an_app_is_healthy_and_reports_its_app_id()
    {
        using var resources = new Resources().Component("store", "state.in-memory");
        await using var host = await DaprTestHost.StartAsync("basics-app", resources, withApp: false);

        using var http = new HttpClient { BaseAddress = new Uri(host.Sidecar.HttpEndpoint) };
        Assert.Equal(HttpStatusCode.NoContent, (await http.GetAsync(new Uri("/v1.0/healthz", UriKind.Relative), TestContext.Current.CancellationToken)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.GetAsync(new Uri("/v1.0/healthz/outbound", UriKind.Relative), TestContext.Current.CancellationToken)).StatusCode);

        var metadata = await host.Client.GetMetadataAsync(TestContext.Current.CancellationToken);
        Assert.Equal("basics-app", metadata.Id);
        Assert.Contains(metadata.Components, c => c.Name == "store" && c.Type == "state.in-memory");
    }

    [Fact]
    public async Task State_saved_through_the_sdk_reads_back_with_an_etag()
    {
        using var resources = new Resources().Component("store", "state.in-memory");
        await using var host = await DaprTestHost.StartAsync("basics-state", resources, withApp: false);
        var ct = TestContext.Current.CancellationToken;

        await host.Client.SaveStateAsync("store", "k1", new { Name = "lamp" }, cancellationToken: ct);
        var (value, etag) = await host.Client.GetStateAndETagAsync<Dictionary<string, string>>("store", "k1", cancellationToken: ct);

        Assert.Equal("lamp", value["name"]);
        Assert.False(string.IsNullOrEmpty(etag));
    }
}
