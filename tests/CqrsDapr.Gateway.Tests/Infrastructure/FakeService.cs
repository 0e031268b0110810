using System.Collections.Concurrent;
using System.Net;
using CqrsDapr.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.Gateway.Tests.Infrastructure;

/// <summary>What a fake service saw of one forwarded request.</summary>
public sealed record ReceivedRequest(string Method, string Target, string Body, IReadOnlyDictionary<string, string> Headers)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>
/// A tiny real Kestrel app standing in for query-service or command-service: records every request the gateway
/// forwarded and answers with its own name (with <c>Content-Length</c> and <see cref="ETag"/>). A path ending in
/// <c>/status/{code}</c> answers that status with an empty body; one ending in <c>/delay/{ms}</c> answers that late; one
/// ending in <c>/hold</c> waits until <see cref="Release"/> (or the gateway gives up on it), and <c>/hold/fail</c> then
/// breaks the connection instead of answering. Requests without the gateway's <c>X-Forwarded-For</c> are not the gateway's: on a shared machine another
/// process may still probe a port this fake took over (seen: a Dapr client polling <c>/v1.0/healthz/outbound</c> of a
/// sidecar that had gone); they are answered 404 and counted in <see cref="Stray"/>, not recorded.
/// </summary>
public sealed class FakeService : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentQueue<ReceivedRequest> received = new();
    private int stray;
    private int holding;
    private TaskCompletionSource held = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private FakeService(string name, WebApplication app, int port)
    {
        Name = name;
        this.app = app;
        Address = new Uri($"http://127.0.0.1:{port}");
    }

    /// <summary>The entity tag of every answer with a body.</summary>
    public const string ETag = "\"7\"";

    public string Name { get; }

    public Uri Address { get; }

    public IReadOnlyList<ReceivedRequest> Received => [.. received];

    public int Stray => stray;

    /// <summary>Requests waiting at <c>/hold</c> right now.</summary>
    public int Holding => Volatile.Read(ref holding);

    /// <summary>Lets every held request go on, and every later one through without waiting, until <see cref="Hold"/>.</summary>
    public void Release() => Volatile.Read(ref held).TrySetResult();

    /// <summary>Makes later <c>/hold</c> requests wait again (any still held are let go first).</summary>
    public void Hold() => Interlocked.Exchange(ref held, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Waits until exactly this many requests are held.</summary>
    public Task WaitUntilHoldingAsync(int count, CancellationToken cancellationToken) =>
        Eventually.TrueAsync(() => Holding == count, () => $"{Name}: {Holding} requests held, expected {count}", cancellationToken);

    public static async Task<FakeService> StartAsync(string name)
    {
        var port = FreePort.Next();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        var service = new FakeService(name, app, port);
        app.Run(service.HandleAsync);
        await app.StartAsync();
        return service;
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        if (!headers.ContainsKey("X-Forwarded-For"))
        {
            Interlocked.Increment(ref stray);
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path + context.Request.QueryString;
        received.Enqueue(new ReceivedRequest(context.Request.Method, target, body, headers));

        var segments = context.Request.Path.Value?.Split('/') ?? [];
        if (segments.Length >= 2 && segments[^2] == "status" && int.TryParse(segments[^1], out var status))
        {
            context.Response.StatusCode = status;
            return;
        }

        if (segments.Length >= 2 && segments[^2] == "delay" && int.TryParse(segments[^1], out var milliseconds))
        {
            await Task.Delay(milliseconds, context.RequestAborted);
        }

        if ((segments.Length >= 1 && segments[^1] == "hold") || (segments.Length >= 2 && segments[^2] == "hold" && segments[^1] == "fail"))
        {
            Interlocked.Increment(ref holding);
            try
            {
                await Volatile.Read(ref held).Task.WaitAsync(context.RequestAborted);
            }
            finally
            {
                Interlocked.Decrement(ref holding);
            }

            if (segments[^1] == "fail")
            {
                context.Abort();
                return;
            }
        }

        context.Response.StatusCode = (int)HttpStatusCode.OK;
        context.Response.Headers["X-Served-By"] = Name;
        context.Response.Headers.ETag = ETag;
        context.Response.ContentType = "text/plain";
        context.Response.ContentLength = Name.Length;
        await context.Response.WriteAsync(Name, context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        Release(); // a held request would keep the server's shutdown waiting
        await app.DisposeAsync();
    }
}
