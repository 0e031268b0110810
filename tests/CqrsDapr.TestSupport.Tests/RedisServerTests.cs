using System.Net.Sockets;
using System.Text;

namespace CqrsDapr.TestSupport.Tests;

public sealed class RedisServerTests
{
    [Fact]
    public async Task Answers_ping_and_again_after_a_crash_and_restart()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await RedisServer.StartAsync(ct);
        Assert.Equal($"127.0.0.1:{server.Port}", server.ConnectionString);

        Assert.Equal("+PONG", await PingAsync(server.Port, ct));

        await server.StopAsync();
        await Assert.ThrowsAnyAsync<SocketException>(() => PingAsync(server.Port, ct));

        await server.RestartAsync(ct);
        Assert.Equal("+PONG", await PingAsync(server.Port, ct));
    }

    private static async Task<string> PingAsync(int port, CancellationToken ct)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port, ct);
        var stream = client.GetStream();
        await stream.WriteAsync("PING\r\n"u8.ToArray(), ct);
        using var reader = new StreamReader(stream, Encoding.ASCII);
        return await reader.ReadLineAsync(ct) ?? string.Empty;
    }
}
