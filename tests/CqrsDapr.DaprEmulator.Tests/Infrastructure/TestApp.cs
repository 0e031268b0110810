using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.DaprEmulator.Tests.Infrastructure;

/// <summary>A request the sidecar made to the app, as it arrived on the wire (before <c>UseCloudEvents</c>).</summary>
public sealed record ReceivedRequest(string Method, string Path, string? ContentType, IReadOnlyDictionary<string, string> Headers, byte[] Body, DateTimeOffset At)
{
    public string BodyText => System.Text.Encoding.UTF8.GetString(Body);
}

/// <summary>
/// A real ASP.NET Core app (Kestrel on a loopback port) with Dapr.AspNetCore wired as a service would wire it,
/// hosted in the test process. Every request from the sidecar is recorded raw, before the CloudEvents middleware.
/// </summary>
public sealed class TestApp : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly RequestLog received;

    private TestApp(WebApplication app, int port, RequestLog received)
    {
        this.app = app;
        Port = port;
        this.received = received;
    }

    public int Port { get; }

    public IServiceProvider Services => app.Services;

    /// <summary>Every request received so far, in arrival order.</summary>
    public IReadOnlyList<ReceivedRequest> Received => received.Snapshot();

    /// <summary>The log (pass it to a restarted app to keep one history across restarts).</summary>
    public RequestLog Log => received;

    /// <summary>
    /// Starts the app on <paramref name="port"/>. <paramref name="configureServices"/> registers services (actors...),
    /// <paramref name="configureApp"/> maps routes after <c>UseCloudEvents</c> and before <c>MapSubscribeHandler</c>.
    /// </summary>
    public static async Task<TestApp> StartAsync(
        int port,
        Sidecars sidecar,
        Action<IServiceCollection>? configureServices = null,
        Action<WebApplication>? configureApp = null,
        RequestLog? log = null)
    {
        ArgumentNullException.ThrowIfNull(sidecar);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        builder.Services.AddDaprClient(client => client
            .UseHttpEndpoint(sidecar.HttpEndpoint)
            .UseGrpcEndpoint(sidecar.GrpcEndpoint)
            .UseDaprApiToken(sidecar.ApiToken));
        // Lets registrations that need the sidecar's endpoints (AddActors options) read them from DI.
        builder.Services.AddSingleton(sidecar);
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        var received = log ?? new RequestLog();
        app.Use(async (context, next) =>
        {
            context.Request.EnableBuffering();
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
            context.Request.Body.Position = 0;
            received.Add(new ReceivedRequest(
                context.Request.Method,
                context.Request.Path.Value ?? "",
                context.Request.ContentType,
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
                buffer.ToArray(),
                DateTimeOffset.UtcNow));
            await next(context);
        });
        app.UseCloudEvents();
        configureApp?.Invoke(app);
        app.MapSubscribeHandler();
        await app.StartAsync();
        return new TestApp(app, port, received);
    }

    /// <summary>Requests received on <paramref name="path"/>.</summary>
    public IReadOnlyList<ReceivedRequest> On(string path) =>
        received.Snapshot().Where(r => string.Equals(r.Path, path, StringComparison.Ordinal)).ToList();

    /// <summary>Waits until at least <paramref name="count"/> requests arrived on <paramref name="path"/>.</summary>
    public Task<IReadOnlyList<ReceivedRequest>> WaitForAsync(string path, int count, TimeSpan timeout) =>
        received.WaitForAsync(all => all.Count(r => string.Equals(r.Path, path, StringComparison.Ordinal)) >= count, timeout, $"{count} request(s) on {path}");

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync(TimeSpan.FromSeconds(5));
        await app.DisposeAsync();
    }
}

/// <summary>The sidecar endpoints an app is configured with (known before either process starts).</summary>
public sealed record Sidecars(string HttpEndpoint, string GrpcEndpoint, string? ApiToken);

/// <summary>Requests in arrival order; waiters are woken by each arrival, not by polling.</summary>
public sealed class RequestLog
{
    private readonly Lock gate = new();
    private readonly List<ReceivedRequest> items = [];
    private TaskCompletionSource changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Add(ReceivedRequest request)
    {
        TaskCompletionSource wake;
        lock (gate)
        {
            items.Add(request);
            wake = changed;
            changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        wake.TrySetResult();
    }

    public IReadOnlyList<ReceivedRequest> Snapshot()
    {
        lock (gate)
        {
            return [.. items];
        }
    }

    /// <summary>Returns the snapshot once <paramref name="condition"/> holds; throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public async Task<IReadOnlyList<ReceivedRequest>> WaitForAsync(Func<IReadOnlyList<ReceivedRequest>, bool> condition, TimeSpan timeout, string because)
    {
        ArgumentNullException.ThrowIfNull(condition);
        using var deadline = new CancellationTokenSource(timeout);
        while (true)
        {
            Task next;
            IReadOnlyList<ReceivedRequest> snapshot;
            lock (gate)
            {
                snapshot = [.. items];
                next = changed.Task;
            }

            if (condition(snapshot))
            {
                return snapshot;
            }

            try
            {
                await next.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for {because}; received {snapshot.Count} request(s): " +
                    string.Join(", ", snapshot.Select(r => $"{r.Method} {r.Path}")));
            }
        }
    }
}
