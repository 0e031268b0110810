using System.Net;
using System.Net.Sockets;
using System.Text;
using CqrsDapr.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy;

namespace CqrsDapr.Gateway.Tests;

/// <summary>
/// The gateway's file descriptors are bounded: connections to a side's service never outnumber the requests the side
/// may have in flight, and Kestrel keeps at most <c>Gateway:Admission:MaxClientConnections</c> client connections.
/// </summary>
public sealed class ConnectionLimitTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Each_sides_cluster_opens_at_most_its_concurrency_limit_of_connections_by_default()
    {
        await using var gateway = await GatewayScenario.StartAsync();

        Assert.Equal(16, MaxConnectionsPerServer(gateway, "query-service"));
        Assert.Equal(8, MaxConnectionsPerServer(gateway, "command-service"));
    }

    [Fact]
    public async Task A_larger_cluster_setting_is_lowered_to_the_sides_limit_and_a_smaller_one_is_kept()
    {
        await using var gateway = await GatewayScenario.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Admission:Reads:ConcurrencyLimit"] = "3",
            ["Gateway:Admission:Writes:ConcurrencyLimit"] = "5",
            ["ReverseProxy:Clusters:query-service:HttpClient:MaxConnectionsPerServer"] = "100",
            ["ReverseProxy:Clusters:command-service:HttpClient:MaxConnectionsPerServer"] = "2",
        });

        Assert.Equal(3, MaxConnectionsPerServer(gateway, "query-service"));
        Assert.Equal(2, MaxConnectionsPerServer(gateway, "command-service"));
        using var response = await gateway.Http.GetAsync(new Uri("/api/products", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Kestrel_takes_the_client_connection_limit_from_the_settings()
    {
        await using var defaults = await GatewayScenario.StartAsync();
        await using var configured = await GatewayScenario.StartAsync(new Dictionary<string, string?> { ["Gateway:Admission:MaxClientConnections"] = "100" });

        Assert.Equal(768, defaults.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits.MaxConcurrentConnections);
        Assert.Equal(100, configured.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits.MaxConcurrentConnections);
    }

    [Fact]
    public async Task A_connection_over_the_client_limit_is_closed_and_its_place_comes_back_when_one_closes()
    {
        await using var gateway = await GatewayScenario.StartAsync(new Dictionary<string, string?> { ["Gateway:Admission:MaxClientConnections"] = "1" });

        var first = new TcpClient();
        try
        {
            await first.ConnectAsync(IPAddress.Loopback, gateway.Port, Ct);
            var stream = first.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET /alive HTTP/1.1\r\nHost: 127.0.0.1:{gateway.Port}\r\n\r\n"), Ct);
            Assert.StartsWith("HTTP/1.1 200", await ReadHeadAsync(stream), StringComparison.Ordinal); // accepted and kept alive

            await Assert.ThrowsAsync<HttpRequestException>(() => gateway.Http.GetAsync(new Uri("/alive", UriKind.Relative), Ct));
        }
        finally
        {
            first.Dispose();
        }

        // Kestrel counts the closed connection out on its own time: a new one is accepted again soon after.
        HttpStatusCode? status = null;
        await Eventually.TrueAsync(
            async () =>
            {
                try
                {
                    using var again = new HttpClient { BaseAddress = gateway.Http.BaseAddress };
                    using var response = await again.GetAsync(new Uri("/alive", UriKind.Relative), Ct);
                    status = response.StatusCode;
                }
                catch (HttpRequestException)
                {
                    status = null;
                }

                return status == HttpStatusCode.OK;
            },
            () => $"status {status}",
            Ct);
    }

    private static int? MaxConnectionsPerServer(GatewayScenario gateway, string clusterId)
    {
        var lookup = gateway.Services.GetRequiredService<IProxyStateLookup>();
        Assert.True(lookup.TryGetCluster(clusterId, out var cluster), $"no cluster {clusterId}");
        return cluster.Model.Config.HttpClient?.MaxConnectionsPerServer;
    }

    /// <summary>Reads up to the end of a response's head (its body, if any, stays unread).</summary>
    private static async Task<string> ReadHeadAsync(NetworkStream stream)
    {
        var head = new StringBuilder();
        var buffer = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && await stream.ReadAsync(buffer, Ct) == 1)
        {
            head.Append((char)buffer[0]);
        }

        return head.ToString();
    }
}
