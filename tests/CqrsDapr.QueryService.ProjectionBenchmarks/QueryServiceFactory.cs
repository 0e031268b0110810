using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using CqrsDapr.TestSupport;

namespace CqrsDapr.QueryService.ProjectionBenchmarks;

/// <summary>
/// The query service in this process, talking to <paramref name="sidecar"/>; <paramref name="settings"/> and
/// <paramref name="services"/> add app settings and service overrides (the rebuild mode's timing decorators).
/// </summary>
internal sealed class QueryServiceFactory(
    Sidecar sidecar,
    IReadOnlyDictionary<string, string>? settings = null,
    Action<IServiceCollection>? services = null) : WebApplicationFactory<Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSolutionRelativeContentRoot(Path.Combine("src", "CqrsDapr.QueryService"));
        builder.UseEnvironment("Production");
        builder.UseSetting("DAPR_HTTP_ENDPOINT", sidecar.HttpEndpoint);
        builder.UseSetting("DAPR_GRPC_ENDPOINT", sidecar.GrpcEndpoint);
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging => logging.ClearProviders());
        if (services is not null)
        {
            builder.ConfigureTestServices(services);
        }
    }
}
