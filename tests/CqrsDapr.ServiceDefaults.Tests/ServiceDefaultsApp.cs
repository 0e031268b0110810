using CqrsDapr.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.ServiceDefaults.Tests;

/// <summary>
/// An app built on the service defaults as the gateway and both services are (Production, ProblemDetails for errors,
/// health endpoints), on a free loopback port, with routes that answer every kind of error.
/// </summary>
internal sealed class ServiceDefaultsApp : IAsyncDisposable
{
    private readonly WebApplication app;

    private ServiceDefaultsApp(WebApplication app, HttpClient http)
    {
        this.app = app;
        Http = http;
    }

    public HttpClient Http { get; }

    public static async Task<ServiceDefaultsApp> StartAsync()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.Logging.ClearProviders();
        var port = FreePort.Next();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.AddServiceDefaults();
        var app = builder.Build();
        app.UseProblemDetailsForErrors();
        app.MapDefaultEndpoints();
        app.MapGet("/boom", string () => throw new InvalidOperationException("secret internal detail"));
        app.MapGet("/missing", () => Results.NotFound());
        app.MapGet("/conflict", () => Results.Conflict());
        app.MapGet("/teapot", () => Results.StatusCode(418));
        app.MapGet("/bad-gateway", () => Results.StatusCode(502));
        app.MapGet("/invalid", () => Results.ValidationProblem(new Dictionary<string, string[]> { ["name"] = ["required"] }));
        app.MapGet("/coded", () => Results.Problem(statusCode: 409, extensions: new Dictionary<string, object?> { ["code"] = "stock-below-zero" }));
        app.MapPost("/only-post", () => Results.Ok());
        await app.StartAsync();
        return new ServiceDefaultsApp(app, new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") });
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await app.DisposeAsync();
    }
}
