using System.Net;
using System.Text;
using CqrsDapr.Gateway.Limits;
using CqrsDapr.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace CqrsDapr.Gateway.Tests;

public sealed class LimitsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Dictionary<string, string?> BodyLimit(int bytes) => new() { ["Gateway:MaxRequestBodyBytes"] = bytes.ToString(System.Globalization.CultureInfo.InvariantCulture) };

    [Fact]
    public async Task A_body_over_the_limit_is_413_problem_details_and_not_forwarded()
    {
        await using var gateway = await GatewayScenario.StartAsync(BodyLimit(1024));

        using var response = await gateway.Http.PostAsync(
            new Uri("/api/products", UriKind.Relative), new ByteArrayContent(new byte[1025]), Ct);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        await RouteTableTests.AssertProblemAsync(response, 413, "payload-too-large");
        Assert.Equal(0, gateway.ForwardedCount);
    }

    [Theory]
    [InlineData(1025)]
    [InlineData(4096)]
    public async Task A_chunked_body_over_the_limit_is_413_problem_details_and_not_forwarded(int size)
    {
        await using var gateway = await GatewayScenario.StartAsync(BodyLimit(1024));

        using var content = new StreamContent(new MemoryStream(new byte[size]));
        using var request = new HttpRequestMessage(HttpMethod.Put, new Uri("/api/products/1", UriKind.Relative)) { Content = content };
        request.Headers.TransferEncodingChunked = true;
        using var response = await gateway.Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        await RouteTableTests.AssertProblemAsync(response, 413, "payload-too-large");
        Assert.Equal(0, gateway.ForwardedCount);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(1024)]
    public async Task A_chunked_body_within_the_limit_is_forwarded_whole(int size)
    {
        await using var gateway = await GatewayScenario.StartAsync(BodyLimit(1024));
        var body = new string('x', size);

        using var content = new StreamContent(new MemoryStream(Encoding.ASCII.GetBytes(body)));
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/products", UriKind.Relative)) { Content = content };
        request.Headers.TransferEncodingChunked = true;
        using var response = await gateway.Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body, Assert.Single(gateway.Command.Received).Body);
    }

    [Fact]
    public async Task Requests_over_the_rate_limit_are_429_problem_details_with_retry_after_and_not_forwarded()
    {
        await using var gateway = await GatewayScenario.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:RateLimit:PermitLimit"] = "2",
            ["Gateway:RateLimit:WindowSeconds"] = "3600",
        });

        using var first = await gateway.Http.GetAsync(new Uri("/api/products", UriKind.Relative), Ct);
        using var second = await gateway.Http.PostAsync(new Uri("/api/products", UriKind.Relative), new StringContent("{}"), Ct);
        using var third = await gateway.Http.GetAsync(new Uri("/api/products", UriKind.Relative), Ct);
        using var probe = await gateway.Http.GetAsync(new Uri("/alive", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        await RouteTableTests.AssertProblemAsync(third, 429, "rate-limited");
        var retryAfter = third.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        Assert.Equal(2, gateway.ForwardedCount);
        Assert.Equal(HttpStatusCode.OK, probe.StatusCode);
    }

    [Fact]
    public async Task A_flood_of_429s_makes_one_warning_per_interval_with_the_count()
    {
        var clock = new FakeTimeProvider();
        await using var gateway = await RateLimitedAsync(permits: 1, windowSeconds: 3600, clock);

        Assert.Equal([HttpStatusCode.OK, .. Enumerable.Repeat(HttpStatusCode.TooManyRequests, 30)], await GetManyAsync(gateway, 31));
        var first = RateLimitWarnings(gateway);
        clock.Advance(CqrsDapr.Gateway.Refusals.RefusalReports.Interval);
        Assert.Equal([HttpStatusCode.TooManyRequests], await GetManyAsync(gateway, 1));
        var second = RateLimitWarnings(gateway);

        Assert.Equal(["Refused 1 requests of clients over their rate limit since the last report (at most one report per 10 s)"], first);
        Assert.Equal(2, second.Count);
        Assert.StartsWith("Refused 30 requests of clients over their rate limit", second[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_over_the_rate_limit_is_served_again_once_its_window_has_ended()
    {
        var clock = new FakeTimeProvider();
        await using var gateway = await RateLimitedAsync(permits: 1, windowSeconds: 60, clock);

        using var first = await gateway.Http.GetAsync(new Uri("/api/products", UriKind.Relative), Ct);
        clock.Advance(TimeSpan.FromSeconds(20));
        using var refused = await gateway.Http.GetAsync(new Uri("/api/products", UriKind.Relative), Ct);
        clock.Advance(TimeSpan.FromSeconds(40));
        using var again = await gateway.Http.GetAsync(new Uri("/api/products", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(40), refused.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(2, gateway.ForwardedCount);
    }

    /// <summary>A gateway whose per-client rate limit counts on <paramref name="clock"/>.</summary>
    private static Task<GatewayScenario> RateLimitedAsync(int permits, int windowSeconds, FakeTimeProvider clock) =>
        GatewayScenario.StartAsync(
            new Dictionary<string, string?>
            {
                ["Gateway:RateLimit:PermitLimit"] = permits.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Gateway:RateLimit:WindowSeconds"] = windowSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            services: services => services.AddKeyedSingleton<TimeProvider>(ClientRateLimitingServices.ClockKey, clock));

    private static async Task<List<HttpStatusCode>> GetManyAsync(GatewayScenario gateway, int count)
    {
        var statuses = new List<HttpStatusCode>(count);
        for (var i = 0; i < count; i++)
        {
            using var response = await gateway.Http.GetAsync(new Uri("/api/products", UriKind.Relative), Ct);
            statuses.Add(response.StatusCode);
        }

        return statuses;
    }

    private static List<string> RateLimitWarnings(GatewayScenario gateway) =>
        [.. gateway.Logs.Entries
            .Where(entry => entry.Category == typeof(ClientRateLimiting).FullName && entry.Level == Microsoft.Extensions.Logging.LogLevel.Warning)
            .Select(entry => entry.Message)];
}
