using System.Net;
using CqrsDapr.QueryService.Projection;
using CqrsDapr.QueryService.Tests.Infrastructure;
using CqrsDapr.ServiceDefaults;
using Microsoft.Extensions.DependencyInjection;
using static CqrsDapr.QueryService.Tests.Infrastructure.ProductEvents;

namespace CqrsDapr.QueryService.Tests.Projection;

/// <summary>The query service degrading at the first late batch (<c>Projection:DegradedLagFor</c> zero).</summary>
public sealed class ImpatientLagQueryServiceHost(ReadDatabaseServer server) : QueryServiceHost(server)
{
    protected override IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Projection:DegradedLag"] = "00:00:10",
        ["Projection:DegradedLagFor"] = "00:00:00",
    };
}

/// <summary>
/// The projection's batches feed the <c>projection</c> check, which <c>/health</c> runs and <c>/alive</c> does not; a
/// Degraded projection still answers 200 (reads are served, only staler) with "Degraded" as the body.
/// </summary>
public sealed class ProjectionHealthEndpointTests(ImpatientLagQueryServiceHost host) : IClassFixture<ImpatientLagQueryServiceHost>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Late_batches_make_health_answer_200_Degraded_and_one_in_time_makes_it_Healthy_again()
    {
        var projection = host.Services.GetRequiredService<ProductProjection>();
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync(ServiceDefaultsExtensions.HealthPath));

        // A bulk batch: its slowest event (an hour old) makes it late, though the other is fresh.
        await projection.ProjectAsync(
            [Created(Guid.NewGuid()) with { OccurredAt = DateTimeOffset.UtcNow.AddHours(-1) }, Created(Guid.NewGuid()) with { OccurredAt = DateTimeOffset.UtcNow }],
            Ct);
        await Task.Delay(TimeSpan.FromMilliseconds(50), Ct);

        Assert.Equal((HttpStatusCode.OK, "Degraded"), await GetAsync(ServiceDefaultsExtensions.HealthPath));
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync(ServiceDefaultsExtensions.AlivePath));

        // A single delivery in time clears it.
        await projection.ProjectAsync(Created(Guid.NewGuid()) with { OccurredAt = DateTimeOffset.UtcNow }, Ct);

        Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync(ServiceDefaultsExtensions.HealthPath));
    }

    private async Task<(HttpStatusCode, string)> GetAsync(string path)
    {
        using var response = await host.Client.GetAsync(new Uri(path, UriKind.Relative), Ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(Ct));
    }
}
