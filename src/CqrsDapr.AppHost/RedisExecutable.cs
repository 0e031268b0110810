using Microsoft.Extensions.DependencyInjection;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CqrsDapr.AppHost;

/// <summary>Redis as an executable resource (append-only file under <c>dataRoot/name</c>), healthy once it answers PING.</summary>
internal static class RedisExecutable
{
    public const string EndpointName = "tcp";

    public static IResourceBuilder<ExecutableResource> AddRedisExecutable(
        this IDistributedApplicationBuilder builder, string name, string dataRoot, int? port)
    {
        var dataDirectory = Path.Combine(dataRoot, name);
        Directory.CreateDirectory(dataDirectory);
        var redis = builder.AddExecutable(name, ServerBinaries.RedisServer(), dataDirectory)
            .WithEndpoint(name: EndpointName, scheme: "tcp", port: port);
        var endpoint = redis.GetEndpoint(EndpointName);

        var healthCheck = $"{name}-answers-ping";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            healthCheck, _ => new PingHealthCheck(endpoint), failureStatus: null, tags: null));

        return redis
            .WithArgs("--port", endpoint.Property(EndpointProperty.TargetPort), "--bind", "127.0.0.1 ::1",
                "--dir", dataDirectory, "--appendonly", "yes", "--save", "")
            .WithHealthCheck(healthCheck);
    }

    /// <summary><c>host:port</c>, as Dapr's <c>pubsub.redis</c> reads <c>redisHost</c>.</summary>
    public static ReferenceExpression HostAndPort(this IResourceBuilder<ExecutableResource> redis)
    {
        var endpoint = redis.GetEndpoint(EndpointName);
        return ReferenceExpression.Create($"{endpoint.Property(EndpointProperty.Host)}:{endpoint.Property(EndpointProperty.Port)}");
    }

    private sealed class PingHealthCheck(EndpointReference endpoint) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(endpoint.Host, endpoint.Port, cancellationToken);
                var stream = client.GetStream();
                await stream.WriteAsync("PING\r\n"u8.ToArray(), cancellationToken);
                var buffer = new byte[16];
                var read = await stream.ReadAsync(buffer, cancellationToken);
                return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal)
                    ? HealthCheckResult.Healthy()
                    : HealthCheckResult.Unhealthy("Redis did not answer PING with PONG.");
            }
            catch (Exception exception) when (exception is SocketException or IOException or InvalidOperationException)
            {
                return HealthCheckResult.Unhealthy("Redis does not accept connections yet.", exception);
            }
        }
    }
}
