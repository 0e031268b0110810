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
/// <c>/status/{code}</c> answers that status with an empty body; one ending in <c>/delay/{ms}</c> answers that late. Requests without the gateway's <c>X-Forwarded-For</c> are not the gateway's: on a shared machine another
/// process may still probe a port this fake took over (seen: a Dapr client polling <c>/v1.0/healthz/outbound</c> of a
/// sidecar that had gone); they are answered 404 and counted in <see cref="Stray"/>, not recorded.
/// </summary>
public sealed class FakeService : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentQueue<ReceivedRequest> received = new();
    private int stray;

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

        context.Response.StatusCode = (int)HttpStatusCode.OK;
        context.Response.Headers["X-Served-By"] = Name;
        context.Response.Headers.ETag = ETag;
        context.Response.ContentType = "text/plain";
        context.Response.ContentLength = Name.Length;
        await context.Response.WriteAsync(Name, context.RequestAborted);
    }

    public async ValueTask DisposeAsync() => await app.DisposeAsync();
}
