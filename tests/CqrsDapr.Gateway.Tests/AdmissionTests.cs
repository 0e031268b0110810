using System.Globalization;
using System.Net;
using System.Text.Json;
using CqrsDapr.Gateway.Admission;
using CqrsDapr.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace CqrsDapr.Gateway.Tests;

/// <summary>
/// Admission control: each side (reads to query-service, writes to command-service) forwards at most its concurrency
/// limit at once with a bounded queue behind it; the excess is refused 503 <c>overloaded</c> with Retry-After, never
/// forwarded. The fake services hold requests at <c>/hold</c> until released, so every state is reached by counts.
/// </summary>
public sealed class AdmissionTests
{
    private const string Reads = "reads";
    private const string Writes = "writes";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_read_over_the_limit_and_the_queue_is_refused_503_overloaded_with_retry_after_and_is_not_forwarded()
    {
        await using var gateway = await GatewayScenario.StartAsync(Limits(concurrency: 2, queue: 1));
        using var metrics = new GatewayMetrics(gateway, AdmissionMetrics.SideTag);

        var waiting = await FillAsync(gateway, Reads);
        using var refused = await gateway.Http.GetAsync(new Uri("/api/products/refused", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        await AssertOverloadedAsync(refused, Reads);
        Assert.Equal(2, gateway.Query.Received.Count); // the queued one waits at the gateway
        Assert.Equal(2, metrics.Observe(AdmissionMetrics.InFlightName, Reads));
        Assert.Equal(1, metrics.Observe(AdmissionMetrics.QueuedName, Reads));
        Assert.Equal(0, metrics.Observe(AdmissionMetrics.InFlightName, Writes));

        gateway.Query.Release();
        var statuses = await StatusesAsync(waiting);

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK], statuses);
        Assert.Equal(3, gateway.Query.Received.Count);
        Assert.DoesNotContain(gateway.Query.Received, request => request.Target.Contains("refused", StringComparison.Ordinal));
        await WaitUntilIdleAsync(gateway);
        Assert.Equal(3, metrics.Sum(AdmissionMetrics.AdmittedName, Reads));
        Assert.Equal(1, metrics.Sum(AdmissionMetrics.RefusedName, Reads));
        Assert.Equal(0, metrics.Sum(AdmissionMetrics.AdmittedName, Writes));
        Assert.Equal(0, metrics.Sum(AdmissionMetrics.RefusedName, Writes));
        Assert.Equal(0, metrics.Observe(AdmissionMetrics.InFlightName, Reads));
        Assert.Equal(0, metrics.Observe(AdmissionMetrics.QueuedName, Reads));
    }

    [Theory]
    [InlineData(Reads)]
    [InlineData(Writes)]
    public async Task A_full_side_does_not_hold_up_the_other(string full)
    {
        await using var gateway = await GatewayScenario.StartAsync(Limits(concurrency: 2, queue: 1));
        var other = full == Reads ? Writes : Reads;

        var waiting = await FillAsync(gateway, full);
        using var refused = await SendAsync(gateway, full, "/api/products/refused");
        using var admitted = await SendAsync(gateway, other, "/api/products");

        await AssertOverloadedAsync(refused, full);
        Assert.Equal(HttpStatusCode.OK, admitted.StatusCode);
        Assert.Equal(full == Reads ? "command-service" : "query-service", await admitted.Content.ReadAsStringAsync(Ct));
        Backend(gateway, full).Release();
        Assert.All(await StatusesAsync(waiting), status => Assert.Equal(HttpStatusCode.OK, status));
    }

    [Theory]
    [InlineData("answered")]
    [InlineData("backend-fails")]
    [InlineData("client-aborts-while-forwarded")]
    [InlineData("client-aborts-while-queued")]
    public async Task Every_place_comes_back_however_the_request_ends(string ending)
    {
        await using var gateway = await GatewayScenario.StartAsync(Limits(concurrency: 2, queue: 1));
        var gate = gateway.Services.GetRequiredService<AdmissionGates>().For(AdmissionSide.Reads);
        using var aborted = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var path = ending == "backend-fails" ? "/api/products/hold/fail" : "/api/products/hold";
        var forwardedToken = ending == "client-aborts-while-forwarded" ? aborted.Token : Ct;
        var queuedToken = ending.StartsWith("client-aborts", StringComparison.Ordinal) ? aborted.Token : Ct;

        List<Task<HttpResponseMessage>> forwarded = [Get(gateway, path, forwardedToken), Get(gateway, path, forwardedToken)];
        await gateway.Query.WaitUntilHoldingAsync(2, Ct);
        var queued = Get(gateway, path, queuedToken);
        await Eventually.TrueAsync(() => gate.Queued == 1, () => $"{gate.Queued} queued", Ct);

        switch (ending)
        {
            case "answered":
                gateway.Query.Release();
                Assert.All(await StatusesAsync([.. forwarded, queued]), status => Assert.Equal(HttpStatusCode.OK, status));
                break;
            case "backend-fails":
                gateway.Query.Release();
                foreach (var task in forwarded.Append(queued))
                {
                    using var response = await task;
                    await RouteTableTests.AssertProblemAsync(response, 502, "backend-unavailable");
                }

                break;
            case "client-aborts-while-forwarded":
                await aborted.CancelAsync();
                foreach (var task in forwarded.Append(queued))
                {
                    await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task);
                }

                await gateway.Query.WaitUntilHoldingAsync(0, Ct); // the gateway gave up on the forwarded ones too
                break;
            default:
                await aborted.CancelAsync();
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued);
                await Eventually.TrueAsync(() => gate.Queued == 0, () => $"{gate.Queued} queued", Ct);
                Assert.Equal(2, gate.InFlight);
                gateway.Query.Release();
                Assert.All(await StatusesAsync(forwarded), status => Assert.Equal(HttpStatusCode.OK, status));
                break;
        }

        await WaitUntilIdleAsync(gateway);

        // The whole capacity is back: two places and the queue's one, then a refusal, exactly as at the start.
        gateway.Query.Hold();
        var again = await FillAsync(gateway, Reads);
        using var refused = await gateway.Http.GetAsync(new Uri("/api/products", UriKind.Relative), Ct);
        await AssertOverloadedAsync(refused, Reads);
        gateway.Query.Release();
        Assert.All(await StatusesAsync(again), status => Assert.Equal(HttpStatusCode.OK, status));
    }

    [Fact]
    public async Task Health_and_the_gateways_own_answers_are_never_refused_nor_counted()
    {
        await using var gateway = await GatewayScenario.StartAsync(Limits(concurrency: 1, queue: 0));
        using var metrics = new GatewayMetrics(gateway, AdmissionMetrics.SideTag);
        var read = Get(gateway, "/api/products/hold", Ct);
        var write = gateway.Http.PostAsync(new Uri("/api/products/hold", UriKind.Relative), new StringContent("{}"), Ct);
        await gateway.Query.WaitUntilHoldingAsync(1, Ct);
        await gateway.Command.WaitUntilHoldingAsync(1, Ct);

        foreach (var path in new[] { "/health", "/alive", "/health", "/alive" })
        {
            using var probe = await gateway.Http.GetAsync(new Uri(path, UriKind.Relative), Ct);
            Assert.Equal(HttpStatusCode.OK, probe.StatusCode);
        }

        using (var outside = await gateway.Http.GetAsync(new Uri("/not-the-api", UriKind.Relative), Ct))
        {
            await RouteTableTests.AssertProblemAsync(outside, 404, "not-found");
        }

        using (var wrongMethod = await gateway.Http.SendAsync(new HttpRequestMessage(HttpMethod.Options, new Uri("/api/products", UriKind.Relative)), Ct))
        {
            await RouteTableTests.AssertProblemAsync(wrongMethod, 405, "method-not-allowed");
        }

        Assert.Equal(0, metrics.Sum(AdmissionMetrics.RefusedName, Reads) + metrics.Sum(AdmissionMetrics.RefusedName, Writes));
        Assert.Equal(1, metrics.Sum(AdmissionMetrics.AdmittedName, Reads));
        Assert.Equal(1, metrics.Sum(AdmissionMetrics.AdmittedName, Writes));

        using var refused = await gateway.Http.GetAsync(new Uri("/api/products", UriKind.Relative), Ct);
        await AssertOverloadedAsync(refused, Reads);
        gateway.Query.Release();
        gateway.Command.Release();
        Assert.All(await StatusesAsync([read, write]), status => Assert.Equal(HttpStatusCode.OK, status));
    }

    [Fact]
    public async Task The_client_rate_limit_and_the_earlier_refusals_come_first_and_are_not_counted()
    {
        await using var gateway = await GatewayScenario.StartAsync(new Dictionary<string, string?>(Limits(concurrency: 1, queue: 0))
        {
            ["Gateway:MaxRequestBodyBytes"] = "16",
            ["Gateway:RateLimit:PermitLimit"] = "3",
            ["Gateway:RateLimit:WindowSeconds"] = "3600",
        });
        using var metrics = new GatewayMetrics(gateway, AdmissionMetrics.SideTag);

        using (var internalPath = await gateway.Http.GetAsync(new Uri("/dapr/config", UriKind.Relative), Ct))
        {
            await RouteTableTests.AssertProblemAsync(internalPath, 404, "not-found");
        }

        using (var tooLarge = await gateway.Http.PostAsync(new Uri("/api/products", UriKind.Relative), new StringContent(new string('x', 17)), Ct))
        {
            await RouteTableTests.AssertProblemAsync(tooLarge, 413, "payload-too-large");
        }

        var held = Get(gateway, "/api/products/hold", Ct);
        await gateway.Query.WaitUntilHoldingAsync(1, Ct);
        using (var full = await gateway.Http.GetAsync(new Uri("/api/products", UriKind.Relative), Ct))
        {
            await AssertOverloadedAsync(full, Reads);
        }

        // Reads are still full, but this client is over its own limit: that is its answer.
        using (var throttled = await gateway.Http.GetAsync(new Uri("/api/products", UriKind.Relative), Ct))
        {
            await RouteTableTests.AssertProblemAsync(throttled, 429, "rate-limited");
        }

        Assert.Equal(1, metrics.Sum(AdmissionMetrics.AdmittedName, Reads));
        Assert.Equal(1, metrics.Sum(AdmissionMetrics.RefusedName, Reads));
        Assert.Equal(0, metrics.Sum(AdmissionMetrics.AdmittedName, Writes) + metrics.Sum(AdmissionMetrics.RefusedName, Writes));
        gateway.Query.Release();
        Assert.Equal(HttpStatusCode.OK, Assert.Single(await StatusesAsync([held])));
    }

    [Fact]
    public async Task A_flood_of_refusals_makes_one_warning_per_side_per_interval_with_the_count()
    {
        var clock = new FakeTimeProvider();
        await using var gateway = await GatewayScenario.StartAsync(
            Limits(concurrency: 1, queue: 0),
            services: services => services.AddKeyedSingleton<TimeProvider>(AdmissionServices.ClockKey, clock));
        var read = Get(gateway, "/api/products/hold", Ct);
        var write = gateway.Http.PostAsync(new Uri("/api/products/hold", UriKind.Relative), new StringContent("{}"), Ct);
        await gateway.Query.WaitUntilHoldingAsync(1, Ct);
        await gateway.Command.WaitUntilHoldingAsync(1, Ct);

        await RefuseAsync(gateway, Reads, 20);
        await RefuseAsync(gateway, Writes, 5);
        var first = Warnings(gateway);
        clock.Advance(CqrsDapr.Gateway.Refusals.RefusalReports.Interval);
        await RefuseAsync(gateway, Reads, 1);
        var second = Warnings(gateway);

        Assert.Equal(2, first.Count);
        Assert.Contains(first, message => message.StartsWith("Refused 1 reads since the last report", StringComparison.Ordinal));
        Assert.Contains(first, message => message.StartsWith("Refused 1 writes since the last report", StringComparison.Ordinal));
        Assert.Equal(3, second.Count);
        Assert.StartsWith("Refused 20 reads since the last report: 1 in flight and 0 queued", second[^1], StringComparison.Ordinal);

        gateway.Query.Release();
        gateway.Command.Release();
        Assert.All(await StatusesAsync([read, write]), status => Assert.Equal(HttpStatusCode.OK, status));
    }

    [Theory]
    [InlineData("Gateway:Admission:Reads:ConcurrencyLimit", "0")]
    [InlineData("Gateway:Admission:Writes:ConcurrencyLimit", "0")]
    [InlineData("Gateway:Admission:Writes:ConcurrencyLimit", "-3")]
    [InlineData("Gateway:Admission:Reads:QueueLimit", "-1")]
    [InlineData("Gateway:Admission:Writes:QueueLimit", "-1")]
    [InlineData("Gateway:Admission:RetryAfterSeconds", "0")]
    [InlineData("Gateway:Admission:MaxClientConnections", "0")]
    public async Task An_invalid_admission_setting_stops_the_gateway_at_start(string key, string value)
    {
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(async () =>
        {
            await using var gateway = await GatewayScenario.StartAsync(new Dictionary<string, string?> { [key] = value });
        });

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_defaults_are_the_documented_ones_and_a_queue_of_zero_is_allowed()
    {
        await using var defaults = await GatewayScenario.StartAsync();
        await using var withoutQueue = await GatewayScenario.StartAsync(Limits(concurrency: 1, queue: 0));

        var settings = defaults.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<GatewayOptions>>().Value.Admission;
        Assert.Equal((16, 16, 8, 8, 1, 768), (settings.Reads.ConcurrencyLimit, settings.Reads.QueueLimit, settings.Writes.ConcurrencyLimit, settings.Writes.QueueLimit, settings.RetryAfterSeconds, settings.MaxClientConnections));
        using var response = await withoutQueue.Http.GetAsync(new Uri("/api/products", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static Dictionary<string, string?> Limits(int concurrency, int queue)
    {
        var settings = new Dictionary<string, string?>();
        foreach (var side in new[] { "Reads", "Writes" })
        {
            settings[$"Gateway:Admission:{side}:ConcurrencyLimit"] = concurrency.ToString(CultureInfo.InvariantCulture);
            settings[$"Gateway:Admission:{side}:QueueLimit"] = queue.ToString(CultureInfo.InvariantCulture);
        }

        return settings;
    }

    /// <summary>Two requests held at the side's service and one in the gateway's queue (the limits of 2 and 1).</summary>
    private static async Task<List<Task<HttpResponseMessage>>> FillAsync(GatewayScenario gateway, string side)
    {
        var gate = gateway.Services.GetRequiredService<AdmissionGates>().For(side == Reads ? AdmissionSide.Reads : AdmissionSide.Writes);
        List<Task<HttpResponseMessage>> waiting = [SendAsync(gateway, side, "/api/products/hold"), SendAsync(gateway, side, "/api/products/hold")];
        await Backend(gateway, side).WaitUntilHoldingAsync(2, Ct);
        waiting.Add(SendAsync(gateway, side, "/api/products/hold"));
        await Eventually.TrueAsync(() => gate.Queued == 1, () => $"{gate.Queued} {side} queued", Ct);
        return waiting;
    }

    private static async Task WaitUntilIdleAsync(GatewayScenario gateway)
    {
        var gates = gateway.Services.GetRequiredService<AdmissionGates>();
        await Eventually.TrueAsync(
            () => gates.All.All(gate => gate.InFlight == 0 && gate.Queued == 0),
            () => string.Join(", ", gates.All.Select(gate => $"{gate.Side}: {gate.InFlight} in flight, {gate.Queued} queued")),
            Ct);
    }

    private static async Task RefuseAsync(GatewayScenario gateway, string side, int count)
    {
        for (var i = 0; i < count; i++)
        {
            using var response = await SendAsync(gateway, side, "/api/products");
            await AssertOverloadedAsync(response, side);
        }
    }

    private static List<string> Warnings(GatewayScenario gateway) =>
        [.. gateway.Logs.Entries
            .Where(entry => entry.Category == typeof(AdmissionControl).FullName && entry.Level == LogLevel.Warning)
            .Select(entry => entry.Message)];

    private static FakeService Backend(GatewayScenario gateway, string side) => side == Reads ? gateway.Query : gateway.Command;

    private static Task<HttpResponseMessage> SendAsync(GatewayScenario gateway, string side, string path) =>
        side == Reads
            ? Get(gateway, path, Ct)
            : gateway.Http.PostAsync(new Uri(path, UriKind.Relative), new StringContent("{}"), Ct);

    private static Task<HttpResponseMessage> Get(GatewayScenario gateway, string path, CancellationToken cancellationToken) =>
        gateway.Http.GetAsync(new Uri(path, UriKind.Relative), cancellationToken);

    private static async Task<HttpStatusCode[]> StatusesAsync(IEnumerable<Task<HttpResponseMessage>> requests)
    {
        var responses = await Task.WhenAll(requests);
        var statuses = responses.Select(response => response.StatusCode).ToArray();
        foreach (var response in responses)
        {
            response.Dispose();
        }

        return statuses;
    }

    /// <summary>503 problem+json with the code <c>overloaded</c>, Retry-After of the default second, the side named.</summary>
    private static async Task AssertOverloadedAsync(HttpResponseMessage response, string side)
    {
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
        await RouteTableTests.AssertProblemAsync(response, 503, "overloaded");
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal("Service Unavailable", problem.RootElement.GetProperty("title").GetString());
        Assert.Contains($"concurrent {side}", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
