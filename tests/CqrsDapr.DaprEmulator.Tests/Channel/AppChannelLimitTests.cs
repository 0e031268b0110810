using System.Collections.Concurrent;
using System.Net;
using CqrsDapr.DaprEmulator.Hosting;
using CqrsDapr.DaprEmulator.State;
using CqrsDapr.DaprEmulator.Tests.Actors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using EmulatorAppChannel = CqrsDapr.DaprEmulator.AppChannel.AppChannel;

namespace CqrsDapr.DaprEmulator.Tests.Channel;

/// <summary>
/// The sidecar's channel to the app under <c>--app-max-concurrency</c>, as daprd 1.16 runs it
/// (<c>pkg/channel/http/http_channel.go</c>, <c>pkg/runtime/channels/channels.go</c>): one limit for every call to the
/// app (service invocation, actor calls, deliveries); a call over it waits for a slot, first come first served, and
/// never fails for lack of one; a caller that gives up while waiting never reaches the app; connections are kept alive
/// and reused, so there are never more of them than calls in flight.
/// </summary>
/// <remarks>
/// The channel and the actor runtime run in the test process against a real app on a loopback port: the test support's
/// <c>Sidecar</c> has no <c>--app-max-concurrency</c> option, so these do not run against daprd.
/// </remarks>
public sealed class AppChannelLimitTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private static readonly string[] FirstAndNext = ["/hold/first", "/hold/next"];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Calls_over_the_limit_wait_for_a_free_slot_and_none_of_them_fails()
    {
        await using var app = await HoldingApp.StartAsync();
        using var channel = Open(app, appMaxConcurrency: 3);

        var calls = Enumerable.Range(0, 10).Select(i => SendAsync(channel, $"/hold/{i}", Ct)).ToList();
        await app.WaitForInFlightAsync(3);
        await Task.Delay(300, Ct); // room for a fourth call to arrive, were the limit not kept

        Assert.Equal(3, app.Arrivals.Count);
        app.Release();
        var statuses = await Task.WhenAll(calls).WaitAsync(Wait, Ct);
        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.OK, status));
        Assert.Equal(10, app.Arrivals.Count);
        Assert.Equal(3, app.MaxInFlight);
    }

    [Fact]
    public async Task A_caller_that_gives_up_while_waiting_never_reaches_the_app_and_the_next_caller_gets_the_slot()
    {
        await using var app = await HoldingApp.StartAsync();
        using var channel = Open(app, appMaxConcurrency: 1);

        var first = SendAsync(channel, "/hold/first", Ct);
        await app.WaitForInFlightAsync(1);
        using var giveUp = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var abandoned = SendAsync(channel, "/hold/abandoned", giveUp.Token);
        var next = SendAsync(channel, "/hold/next", Ct);
        await giveUp.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned.WaitAsync(Wait, Ct)); // at once, not when a slot frees
        Assert.False(first.IsCompleted);
        app.Release();
        Assert.Equal(HttpStatusCode.OK, await first.WaitAsync(Wait, Ct));
        Assert.Equal(HttpStatusCode.OK, await next.WaitAsync(Wait, Ct));
        Assert.Equal(FirstAndNext, app.Arrivals.Select(a => a.Path));
    }

    [Fact]
    public async Task Connections_are_kept_alive_and_reused_so_there_are_never_more_than_calls_in_flight()
    {
        await using var app = await HoldingApp.StartAsync();
        using var channel = Open(app, appMaxConcurrency: 4);
        app.Release(); // nothing holds

        for (var wave = 0; wave < 5; wave++)
        {
            var statuses = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => SendAsync(channel, $"/hold/{wave}-{i}", Ct))).WaitAsync(Wait, Ct);
            Assert.All(statuses, status => Assert.Equal(HttpStatusCode.OK, status));
        }

        var afterBursts = app.Connections;
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await SendAsync(channel, $"/hold/one-by-one-{i}", Ct));
        }

        Assert.Equal(120, app.Arrivals.Count);
        Assert.InRange(afterBursts, 1, 4);
        Assert.Equal(afterBursts, app.Connections); // one at a time: an idle connection is reused, none is opened
    }

    [Fact]
    public async Task Without_a_limit_every_call_reaches_the_app_at_once()
    {
        await using var app = await HoldingApp.StartAsync();
        using var channel = Open(app, appMaxConcurrency: -1);

        var calls = Enumerable.Range(0, 25).Select(i => SendAsync(channel, $"/hold/{i}", Ct)).ToList();
        await app.WaitForInFlightAsync(25);
        app.Release();

        Assert.All(await Task.WhenAll(calls).WaitAsync(Wait, Ct), status => Assert.Equal(HttpStatusCode.OK, status));
        Assert.Equal(25, app.MaxInFlight);
    }

    [Fact]
    public async Task Actor_calls_to_different_actors_share_the_limit_and_each_waits_for_its_turn_and_a_slot()
    {
        await using var store = new InMemoryStateStore("actorstore");
        await using var app = await HoldingApp.StartAsync();
        await using var sidecar = await InProcessActorSidecar.StartAsync("limit-actors", store, app.Port, appMaxConcurrency: 2);
        await sidecar.InitializeAsync(Ct);
        using var http = new HttpClient { BaseAddress = new Uri(sidecar.HttpEndpoint) };

        async Task<HttpStatusCode> CallAsync(string id)
        {
            using var response = await http.PutAsync(new Uri($"/v1.0/actors/{HoldingApp.ActorType}/{id}/method/hold", UriKind.Relative), null, Ct);
            return response.StatusCode;
        }

        var calls = Enumerable.Range(0, 6).Select(i => CallAsync($"a{i}")).ToList();
        await app.WaitForInFlightAsync(2);
        await Task.Delay(300, Ct);

        Assert.Equal(2, app.Arrivals.Count(a => a.Path.StartsWith("/actors/", StringComparison.Ordinal)));
        app.Release();
        Assert.All(await Task.WhenAll(calls).WaitAsync(Wait, Ct), status => Assert.Equal(HttpStatusCode.OK, status));
        Assert.Equal(6, app.Arrivals.Count(a => a.Path.StartsWith("/actors/", StringComparison.Ordinal)));
        Assert.Equal(2, app.MaxInFlight);
    }

    private static EmulatorAppChannel Open(HoldingApp app, int appMaxConcurrency) =>
        new(new EmulatorOptions { AppId = "limits", AppPort = app.Port, AppMaxConcurrency = appMaxConcurrency }, NullLogger<EmulatorAppChannel>.Instance);

    private static async Task<HttpStatusCode> SendAsync(EmulatorAppChannel channel, string path, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path.TrimStart('/'), UriKind.Relative));
        using var response = await channel.SendAsync(request, cancellationToken);
        return response.StatusCode;
    }

    /// <summary>
    /// An app whose calls wait until <see cref="Release"/> (and answer at once after it), counting the calls in flight,
    /// the paths in arrival order and the connections the sidecar opened. It hosts <see cref="ActorType"/> by hand.
    /// </summary>
    private sealed class HoldingApp : IAsyncDisposable
    {
        public const string ActorType = "HoldingActor";

        private readonly WebApplication web;
        private readonly TaskCompletionSource released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ConcurrentQueue<(string Path, string Connection)> arrivals = new();
        private int inFlight;
        private int maxInFlight;

        private HoldingApp(WebApplication web, int port)
        {
            this.web = web;
            Port = port;
        }

        public int Port { get; }

        public IReadOnlyList<(string Path, string Connection)> Arrivals => [.. arrivals];

        public int MaxInFlight => Volatile.Read(ref maxInFlight);

        /// <summary>Distinct connections the calls arrived on.</summary>
        public int Connections => arrivals.Select(a => a.Connection).Distinct(StringComparer.Ordinal).Count();

        public static async Task<HoldingApp> StartAsync()
        {
            var port = FreePort.Next();
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
            var web = builder.Build();
            var app = new HoldingApp(web, port);
            web.MapGet("/dapr/config", () => Results.Text("{\"entities\":[\"" + ActorType + "\"]}", "application/json"));
            web.MapPost("/hold/{id}", app.HoldAsync);
            web.MapPut("/actors/{type}/{id}/method/{method}", app.HoldAsync);
            web.MapDelete("/actors/{type}/{id}", () => Results.Ok());
            await web.StartAsync(Ct);
            return app;
        }

        public void Release() => released.TrySetResult();

        public Task<int> WaitForInFlightAsync(int count) =>
            Infrastructure.Eventually.Until(() => Task.FromResult(Volatile.Read(ref inFlight)), n => n >= count, Wait, $"{count} calls in the app");

        public async ValueTask DisposeAsync()
        {
            Release();
            await web.DisposeAsync();
        }

        /// <summary>Answers 200 with no body once released.</summary>
        private async Task HoldAsync(HttpContext context)
        {
            arrivals.Enqueue((context.Request.Path.Value ?? "", context.Connection.Id));
            var now = Interlocked.Increment(ref inFlight);
            int seen;
            while (now > (seen = Volatile.Read(ref maxInFlight)) && Interlocked.CompareExchange(ref maxInFlight, now, seen) != seen)
            {
            }

            try
            {
                await released.Task.WaitAsync(context.RequestAborted);
            }
            finally
            {
                Interlocked.Decrement(ref inFlight);
            }
        }
    }
}
