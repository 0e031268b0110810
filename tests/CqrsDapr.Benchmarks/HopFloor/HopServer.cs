using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.Benchmarks.HopFloor;

/// <summary>
/// One process of the hop floor's chain: bare ASP.NET Core (Kestrel, one route, no middleware, no logging, no
/// telemetry) that answers <c>POST /hop</c> itself, or passes the body on to the next process with a pooled
/// <see cref="HttpClient"/> and answers with what came back. It stops when its parent closes its standard input, so a
/// killed benchmark leaves nothing running.
/// </summary>
internal static class HopServer
{
    public const string Command = "hop-server";

    /// <summary>What the last process answers: about the size of a create's answer (an id and a consistency token).</summary>
    private static readonly byte[] Answer =
        """{"id":"0b9f863c-430b-4a85-aef5-42c272668103","consistencyToken":"AAAAAAAAAAEAAAAAAAAAAQ","status":"created"}"""u8.ToArray();

    /// <summary><c>hop-server &lt;port&gt; [&lt;next url&gt;]</c>.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var port = int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
        Uri? next = args.Length > 2 ? new Uri(new Uri(args[2], UriKind.Absolute), "/hop") : null;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        using var client = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 256,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
        });
        await using var app = builder.Build();
        app.MapGet("/health", () => Results.Ok());
        app.MapPost("/hop", async context =>
        {
            var body = new byte[context.Request.ContentLength ?? 0];
            await context.Request.Body.ReadExactlyAsync(body, context.RequestAborted);
            if (next is null)
            {
                context.Response.StatusCode = StatusCodes.Status201Created;
                context.Response.ContentType = "application/json";
                await context.Response.Body.WriteAsync(Answer, context.RequestAborted);
                return;
            }

            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var answer = await client.PostAsync(next, content, context.RequestAborted);
            var bytes = await answer.Content.ReadAsByteArrayAsync(context.RequestAborted);
            context.Response.StatusCode = (int)answer.StatusCode;
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(bytes, context.RequestAborted);
        });

        _ = Task.Run(async () =>
        {
            await Console.In.ReadToEndAsync(); // the parent closed our standard input, or exited
            app.Lifetime.StopApplication();
        });
        await app.RunAsync();
        return 0;
    }
}
