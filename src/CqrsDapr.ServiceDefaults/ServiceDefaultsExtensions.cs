using System.Globalization;
using CqrsDapr.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace CqrsDapr.ServiceDefaults;

/// <summary>
/// One call per service: OpenTelemetry (traces, metrics, logs), health checks, service discovery,
/// HTTP client resilience and RFC 9457 ProblemDetails for every error response.
/// </summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>Liveness endpoint: the process is up and its event loop answers.</summary>
    public const string AlivePath = "/alive";

    /// <summary>Readiness endpoint: every registered health check passes (databases, sidecar...).</summary>
    public const string HealthPath = "/health";

    private const string LiveTag = "live";

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();

        builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = CompleteProblem);
        // After the default writer, which declines clients whose Accept names no JSON type: they get problem+json too.
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IProblemDetailsWriter, ProblemJsonForAnyAccept>());
        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });
        return builder;
    }

    /// <summary>
    /// Run on every problem written through <see cref="IProblemDetailsService"/> (typed results, status-code pages,
    /// the exception handler): the trace id, so a client report can be matched to the trace, and a <c>code</c> when
    /// whoever wrote the problem set none (validation problems: <see cref="ProblemCodes.ValidationFailed"/>; others the
    /// general code of their status).
    /// </summary>
    internal static void CompleteProblem(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        problem.Extensions.TryAdd("traceId", context.HttpContext.TraceIdentifier);
        if (!problem.Extensions.TryGetValue(ProblemMembers.Code, out var code) || code is null)
        {
            problem.Extensions[ProblemMembers.Code] = problem is HttpValidationProblemDetails
                ? ProblemCodes.ValidationFailed
                : ProblemCodes.ForStatus(problem.Status ?? context.HttpContext.Response.StatusCode);
        }
    }

    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter("CqrsDapr.*"))
            .WithTracing(tracing => tracing
                .AddSource(builder.Environment.ApplicationName)
                .AddSource("CqrsDapr.*")
                .AddSource("Grpc.Net.Client") // the Dapr SDK's gRPC calls: the parent of their HTTP spans
                .AddAspNetCoreInstrumentation(options =>
                    // Probes would drown the traces that matter.
                    options.Filter = context =>
                        !context.Request.Path.StartsWithSegments(HealthPath, StringComparison.OrdinalIgnoreCase)
                        && !context.Request.Path.StartsWithSegments(AlivePath, StringComparison.OrdinalIgnoreCase))
                .AddHttpClientInstrumentation());

        // The production settings cap the traces started here per second (see CappedRatioSampler); otherwise the OTel
        // environment variables (OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG) decide, every span by default.
        if (int.TryParse(builder.Configuration[CappedRatioSampler.MaxTracesPerSecondKey], NumberStyles.None, CultureInfo.InvariantCulture, out var cap) && cap > 0)
        {
            var ratio = CappedRatioSampler.RatioFrom(builder.Configuration["OTEL_TRACES_SAMPLER_ARG"]);
            builder.Services.ConfigureOpenTelemetryTracerProvider(tracing =>
                tracing.SetSampler(new ParentBasedSampler(new CappedRatioSampler(ratio, cap))));
        }

        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            builder.Services.AddOpenTelemetry().UseOtlpExporter();
        }

        return builder;
    }

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);
        return builder;
    }

    /// <summary>
    /// Maps <c>/health</c> (all checks) and <c>/alive</c> (liveness only) in every environment:
    /// Kubernetes probes and the AppHost need them in production too. They reveal status only, no details.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapHealthChecks(HealthPath);
        app.MapHealthChecks(AlivePath, new HealthCheckOptions { Predicate = check => check.Tags.Contains(LiveTag) });
        return app;
    }

    /// <summary>
    /// Turns every unhandled exception and every bare error status code (unknown route 404, wrong method 405...) into
    /// ProblemDetails with a <c>code</c>, without leaking exception details to clients.
    /// </summary>
    public static WebApplication UseProblemDetailsForErrors(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        return app;
    }
}
