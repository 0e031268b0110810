using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CqrsDapr.CommandService.Outbox;
using CqrsDapr.CommandService.Persistence;
using CqrsDapr.CommandService.Products;
using CqrsDapr.CommandService.DaprSidecar;
using CqrsDapr.CommandService.Tests.Infrastructure;
using CqrsDapr.CommandService.Tests.Products;
using CqrsDapr.Contracts;
using HoldingSidecar = CqrsDapr.TestSupport.HoldingSidecar;
using Dapr.Actors.Runtime;
using Dapr.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;


namespace CqrsDapr.CommandService.Tests.DaprSidecar;

/// <summary>
/// The service's connections to its own sidecar, against a stand-in sidecar that holds every call until told: actor
/// calls share at most <c>Sidecar:MaxConnections</c> kept-alive connections (commands beyond wait for one), each has
/// a deadline answered 504, and a client going away ends the wait; the relay's publishes share one HTTP/2 connection
/// and each has a deadline too.
/// </summary>
public sealed class SidecarConnectionTests(WriteDatabaseServer server)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Commands_share_at_most_max_connections_to_the_sidecar_and_the_ones_beyond_wait_for_a_free_one()
    {
        await using var sidecar = await HoldingSidecar.StartAsync(HttpProtocols.Http1, Ct);
        await using var app = await StartAppAsync(sidecar, maxConnections: 4, actorCallTimeout: TimeSpan.FromSeconds(30));
        using var client = app.CreateClient();
        sidecar.Answer = app.AcceptedJson;

        var creates = Enumerable.Range(0, 12).Select(_ => client.PostAsJsonAsync("/api/products", ProductApi.NewProduct(), Ct)).ToList();
        await sidecar.WaitForInFlightAsync(4, Wait, Ct);
        await Task.Delay(300, Ct); // room for a fifth call to arrive, were the connections not bounded

        Assert.Equal(4, sidecar.Calls);
        sidecar.Release();
        var responses = await Task.WhenAll(creates).WaitAsync(Wait, Ct);
        Assert.All(responses, response => Assert.Equal(HttpStatusCode.Created, response.StatusCode));
        Assert.Equal(12, sidecar.Calls);
        Assert.Equal(4, sidecar.MaxInFlight);
        Assert.InRange(sidecar.Connections, 1, 4);
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task An_actor_call_past_its_deadline_answers_504_backend_timeout()
    {
        await using var sidecar = await HoldingSidecar.StartAsync(HttpProtocols.Http1, Ct);
        await using var app = await StartAppAsync(sidecar, maxConnections: 4, actorCallTimeout: TimeSpan.FromSeconds(1));
        using var client = app.CreateClient();

        using var response = await client.PostAsJsonAsync("/api/products", ProductApi.NewProduct(), Ct).WaitAsync(Wait, Ct);

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal(ProblemCodes.BackendTimeout, problem.GetProperty("code").GetString());
        Assert.Equal(1, sidecar.Calls);
    }

    [Fact]
    public async Task A_client_that_goes_away_ends_the_wait_for_the_actor_call()
    {
        await using var sidecar = await HoldingSidecar.StartAsync(HttpProtocols.Http1, Ct);
        await using var app = await StartAppAsync(sidecar, maxConnections: 4, actorCallTimeout: TimeSpan.FromSeconds(30));
        using var client = app.CreateClient();
        using var goAway = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        var create = client.PostAsJsonAsync("/api/products", ProductApi.NewProduct(), goAway.Token);
        await sidecar.WaitForInFlightAsync(1, Wait, Ct);
        await goAway.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => create);
        await sidecar.WaitForAbandonedAsync(1, Wait, Ct);
    }

    [Fact]
    public async Task Publishes_share_one_http2_connection_and_one_the_sidecar_does_not_answer_times_out()
    {
        await using var sidecar = await HoldingSidecar.StartAsync(HttpProtocols.Http2, Ct);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["DAPR_GRPC_ENDPOINT"] = sidecar.Endpoint,
            ["DAPR_HTTP_ENDPOINT"] = sidecar.Endpoint,
            ["Sidecar:PublishTimeout"] = "00:00:02",
        }).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddSidecarConnections(configuration);
        await using var provider = services.BuildServiceProvider();
        var publisher = new DaprOutboxPublisher(provider.GetRequiredService<DaprClient>(), provider.GetRequiredService<IOptions<SidecarOptions>>());

        var publishes = Enumerable.Range(0, 10).Select(i => Assert.ThrowsAsync<TimeoutException>(() => publisher.PublishAsync("products", Envelope(i), Ct))).ToList();
        var failures = await Task.WhenAll(publishes).WaitAsync(Wait, Ct);

        Assert.All(failures, failure => Assert.Contains("within 2 s", failure.Message, StringComparison.Ordinal));
        Assert.Equal(10, sidecar.Calls);
        Assert.Equal(1, sidecar.Connections);
    }

    private static EventEnvelope Envelope(int i) => new()
    {
        EventId = Guid.NewGuid(),
        EventType = "ProductCreated",
        SchemaVersion = 1,
        AggregateType = "Product",
        AggregateId = Guid.NewGuid().ToString("D"),
        AggregateVersion = 1,
        Sequence = i + 1,
        OccurredAt = DateTimeOffset.UtcNow,
        Data = JsonDocument.Parse("{}").RootElement.Clone(),
    };

    private async Task<TestApp> StartAppAsync(HoldingSidecar sidecar, int maxConnections, TimeSpan actorCallTimeout)
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        var app = new TestApp(web =>
        {
            web.UseEnvironment("Production");
            web.UseSetting($"ConnectionStrings:{PersistenceModule.ConnectionName}", connectionString);
            web.UseSetting("DAPR_HTTP_ENDPOINT", sidecar.Endpoint);
            web.UseSetting("DAPR_GRPC_ENDPOINT", sidecar.Endpoint);
            web.UseSetting("Outbox:Enabled", "false");
            web.UseSetting("Sidecar:MaxConnections", maxConnections.ToString(System.Globalization.CultureInfo.InvariantCulture));
            web.UseSetting("Sidecar:ActorCallTimeout", actorCallTimeout.ToString("c", System.Globalization.CultureInfo.InvariantCulture));
            web.UseSetting("Logging:LogLevel:Default", "Critical");
        });
        _ = app.Services; // starts the host
        return app;
    }

    private sealed class TestApp(Action<IWebHostBuilder> configure) : WebApplicationFactory<Program>
    {
        /// <summary>What the stand-in sidecar answers an actor call with: accepted, version 1, in the actors' JSON.</summary>
        public byte[] AcceptedJson => JsonSerializer.SerializeToUtf8Bytes(
            CommandResult.Accepted(1), Services.GetRequiredService<IOptions<ActorRuntimeOptions>>().Value.JsonSerializerOptions);

        protected override void ConfigureWebHost(IWebHostBuilder builder) => configure(builder);
    }
}
