using CqrsDapr.Contracts;
using CqrsDapr.QueryService.Views;
using CqrsDapr.ServiceDefaults;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace CqrsDapr.QueryService.Rebuild;

/// <summary>
/// <c>POST /internal/rebuilds/products</c> starts a rebuild of every product view into a fresh generation (202, or 409
/// while one runs); <c>GET /internal/rebuilds/products</c> shows the generations and the last rebuild. Internal: the
/// gateway never routes <c>/internal/*</c>; operators reach it through Dapr service invocation (the sidecar adds the
/// app API token, when one is configured) or the pod.
/// </summary>
internal static class RebuildModule
{
    public const string Route = "/internal/rebuilds/products";

    public static WebApplicationBuilder AddRebuild(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddHttpClient<EventLogClient>((services, http) => SidecarHttp.Configure(http, services.GetRequiredService<IConfiguration>()));
        builder.Services.AddSingleton<ProductRebuild>();
        builder.Services.AddOptions<RebuildOptions>()
            .Bind(builder.Configuration.GetSection(RebuildOptions.Section))
            .Validate(o => o.PageSize is >= 1 and <= 5000, "Rebuild:PageSize must be 1 to 5000.")
            .Validate(o => o.TakeOverAfter > TimeSpan.Zero, "Rebuild:TakeOverAfter must be positive.")
            .Validate(o => o.BatchEvents >= 1, "Rebuild:BatchEvents must be positive.")
            .ValidateOnStart();
        return builder;
    }

    public static IEndpointRouteBuilder MapRebuild(this IEndpointRouteBuilder app)
    {
        app.MapPost(Route, StartAsync).ExcludeFromDescription().RequireDaprAppToken();
        app.MapGet(Route, async (ViewGenerations generations, CancellationToken ct) => TypedResults.Ok((await generations.ReadAsync(ct)).Document))
            .ExcludeFromDescription()
            .RequireDaprAppToken();
        return app;
    }

    private static async Task<Results<Accepted<GenerationsDocument>, ProblemHttpResult>> StartAsync(ProductRebuild rebuild, IOptions<RebuildOptions> options, CancellationToken ct)
    {
        var start = await rebuild.StartAsync(ct);
        return start.Started
            ? TypedResults.Accepted(Route, start.Document)
            : TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "A rebuild is running.",
                detail: $"Generation {start.Document.Building} is being built; its heartbeat is younger than {options.Value.TakeOverAfter.TotalSeconds:F0} s.",
                extensions: new Dictionary<string, object?> { [ProblemMembers.Code] = ProblemCodes.RebuildRunning });
    }
}
