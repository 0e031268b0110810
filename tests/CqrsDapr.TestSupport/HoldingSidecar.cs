using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.TestSupport;

/// <summary>
/// A stand-in Dapr sidecar (HTTP/1.1 or h2c) for tests of a service's connections to its sidecar: it holds every
/// request until <see cref="Release"/>, then answers <see cref="StatusCode"/> with <see cref="Answer"/>. It counts
/// requests, the most in flight at once, connections and requests abandoned by the caller, and keeps each request's
/// <c>grpc-timeout</c>.
/// </summary>
public sealed class HoldingSidecar : IAsyncDisposable
{
    private readonly WebApplication web;
    private readonly TaskCompletionSource released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<string, bool> connections = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> deadlines = new();
    private TaskCompletionSource changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int calls;
    private int inFlight;
    private int maxInFlight;
    private int abandoned;

    private HoldingSidecar(WebApplication web, int port)
    {
        this.web = web;
        Endpoint = $"http://127.0.0.1:{port}";
    }

    public string Endpoint { get; }

    /// <summary>The status of every answer once released (default 200).</summary>
    public int StatusCode { get; set; } = StatusCodes.Status200OK;

    /// <summary>The JSON body of every answer once released (default none).</summary>
    public byte[] Answer { get; set; } = [];

    public int Calls => Volatile.Read(ref calls);

    public int MaxInFlight => Volatile.Read(ref maxInFlight);

    public int Abandoned => Volatile.Read(ref abandoned);

    public int Connections => connections.Count;

    /// <summary>Each request's <c>grpc-timeout</c> header, empty when it had none.</summary>
    public IReadOnlyList<string> Deadlines => [.. deadlines];

    public static async Task<HoldingSidecar> StartAsync(HttpProtocols protocols, CancellationToken cancellationToken)
    {
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, listen => listen.Protocols = protocols));
        var web = builder.Build();
        var sidecar = new HoldingSidecar(web, port);
        web.Run(sidecar.HoldAsync);
        await web.StartAsync(cancellationToken);
        return sidecar;
    }

    public void Release() => released.TrySetResult();

    /// <summary>Until <paramref name="count"/> requests are held at once.</summary>
    public Task WaitForInFlightAsync(int count, TimeSpan timeout, CancellationToken cancellationToken) =>
        WaitUntilAsync(() => Volatile.Read(ref inFlight) >= count, timeout, $"{count} calls at the sidecar at once", cancellationToken);

    /// <summary>Until <paramref name="count"/> requests were abandoned by their caller.</summary>
    public Task WaitForAbandonedAsync(int count, TimeSpan timeout, CancellationToken cancellationToken) =>
        WaitUntilAsync(() => Abandoned >= count, timeout, $"{count} calls abandoned at the sidecar", cancellationToken);

    public async ValueTask DisposeAsync()
    {
        Release();
        await web.DisposeAsync();
    }

    /// <summary>Checks <paramref name="condition"/> again each time a request arrives or ends, never by polling.</summary>
    private async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var next = Volatile.Read(ref changed).Task;
            if (condition())
            {
                return;
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0} s waiting for {what}.");
            }

            try
            {
                await next.WaitAsync(left, cancellationToken);
            }
            catch (TimeoutException)
            {
                // checked once more above, then reported
            }
        }
    }

    private void Changed() => Interlocked.Exchange(ref changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    private async Task HoldAsync(HttpContext context)
    {
        connections.TryAdd(context.Connection.Id, true);
        deadlines.Enqueue(context.Request.Headers["grpc-timeout"].ToString());
        Interlocked.Increment(ref calls);
        var now = Interlocked.Increment(ref inFlight);
        int seen;
        while (now > (seen = Volatile.Read(ref maxInFlight)) && Interlocked.CompareExchange(ref maxInFlight, now, seen) != seen)
        {
        }

        Changed();
        try
        {
            await released.Task.WaitAsync(context.RequestAborted);
            context.Response.StatusCode = StatusCode;
            if (Answer.Length > 0)
            {
                context.Response.ContentType = "application/json";
                await context.Response.Body.WriteAsync(Answer, context.RequestAborted);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            Interlocked.Increment(ref abandoned);
        }
        finally
        {
            Interlocked.Decrement(ref inFlight);
            Changed();
        }
    }
}
