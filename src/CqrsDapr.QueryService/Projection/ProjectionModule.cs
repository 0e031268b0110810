using System.Text.Json;
using CqrsDapr.Contracts;
using CqrsDapr.QueryService.DeadLetters;
using CqrsDapr.QueryService.Views;
using Dapr;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CqrsDapr.QueryService.Projection;

/// <summary>
/// The product projection: the <c>products</c> subscription (poison events go to <c>products-deadletter</c>), the
/// dead-letter subscription that keeps them, and <c>GET /internal/dead-letters</c> to see them (never routed by the
/// gateway). Answers follow Dapr's contract (dapr-contract.md §2.5): SUCCESS when applied or already applied, RETRY
/// for a transient failure, DROP for an event that can never be applied — never 404, which would lose it.
/// </summary>
internal static class ProjectionModule
{
    public const string ProductsRoute = "/events/products";
    public const string ProductsDeadLetterRoute = "/events/products-deadletter";
    public const string DeadLettersRoute = "/internal/dead-letters";

    private const string Success = """{"status":"SUCCESS"}""";
    private const string Retry = """{"status":"RETRY"}""";
    private const string Drop = """{"status":"DROP"}""";

    public static IServiceCollection AddProjection(this IServiceCollection services)
    {
        services.AddMetrics();
        services.AddSingleton<IDeadLetterStore, DaprDeadLetterStore>();
        services.AddSingleton<ProjectionMetrics>();
        services.AddSingleton<ProductProjection>();
        services.AddSingleton<DeadLetterInbox>();
        return services;
    }

    public static IEndpointRouteBuilder MapProjection(this IEndpointRouteBuilder app)
    {
        app.MapPost(ProductsRoute, HandleProductEventAsync)
            .WithTopic(new TopicOptions
            {
                PubsubName = DaprNames.PubSub,
                Name = Topics.Products,
                DeadLetterTopic = Topics.DeadLetterOf(Topics.Products),
            })
            .ExcludeFromDescription();

        app.MapPost(ProductsDeadLetterRoute, HandleProductDeadLetterAsync)
            .WithTopic(DaprNames.PubSub, Topics.DeadLetterOf(Topics.Products))
            .ExcludeFromDescription();

        app.MapGet(DeadLettersRoute, async (IDeadLetterStore store, int? limit, CancellationToken ct) =>
                TypedResults.Ok(await store.ListAsync(Math.Clamp(limit ?? 100, 1, 1000), ct)))
            .ExcludeFromDescription();
        return app;
    }

    private static async Task<ContentHttpResult> HandleProductEventAsync(HttpRequest request, ProductProjection projection, CancellationToken ct)
    {
        EventEnvelope? envelope;
        try
        {
            envelope = await JsonSerializer.DeserializeAsync(request.Body, ContractsJson.Default.EventEnvelope, ct);
        }
        catch (JsonException ex)
        {
            projection.Unreadable($"not an event envelope: {ex.Message}");
            return Status(Drop);
        }

        if (envelope is null)
        {
            projection.Unreadable("no event envelope");
            return Status(Drop);
        }

        try
        {
            return await projection.ProjectAsync(envelope, ct) switch
            {
                ProjectionOutcome.Applied or ProjectionOutcome.AlreadyApplied => Status(Success),
                ProjectionOutcome.Dropped => Status(Drop),
                _ => Status(Retry),
            };
        }
        catch (DaprException)
        {
            return Status(Retry); // the sidecar or the view store is unavailable: Dapr redelivers later
        }
    }

    private static async Task<ContentHttpResult> HandleProductDeadLetterAsync(HttpRequest request, DeadLetterInbox inbox, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, ct);
        try
        {
            await inbox.StoreAsync(Topics.Products, buffer.ToArray(), ct);
            return Status(Success);
        }
        catch (DaprException)
        {
            return Status(Retry);
        }
    }

    private static ContentHttpResult Status(string body) => TypedResults.Text(body, "application/json");
}
