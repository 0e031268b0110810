using CqrsDapr.CommandService.Idempotency;
using CqrsDapr.CommandService.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace CqrsDapr.CommandService.Tests.Idempotency;

/// <summary>
/// The command service on a fake clock that tests advance, and without the idempotency retention sweep: expired
/// records stay in the table, so what a test sees is the lookup's and the turn's own expiry.
/// </summary>
public sealed class FakeClockCommandServiceHost(WriteDatabaseServer server) : CommandServiceHost(server)
{
    /// <summary>Starts at the real time (whole seconds, so PostgreSQL's microseconds keep it exact); only tests move it.</summary>
    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()));

    protected override void ConfigureApp(IWebHostBuilder web) =>
        web.ConfigureTestServices(services =>
        {
            services.AddSingleton<TimeProvider>(Clock);
            var sweeps = services.Where(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(IdempotencyRetention)).ToList();
            if (sweeps.Count != 1)
            {
                throw new InvalidOperationException($"Expected one idempotency retention sweep to remove, found {sweeps.Count}.");
            }

            services.Remove(sweeps[0]);
        });
}
