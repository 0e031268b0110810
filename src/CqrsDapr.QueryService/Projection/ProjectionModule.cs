using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using CqrsDapr.Contracts;
using CqrsDapr.QueryService.DeadLetters;
using CqrsDapr.QueryService.Views;
using CqrsDapr.ServiceDefaults;
using Dapr;
using Dapr.AspNetCore;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CqrsDapr.QueryService.Projection;

/// <summary>
/// The product projection: the <c>products</c> subscription (poison events go to <c>products-deadletter</c>), the
/// dead-letter subscription that keeps them, and <c>GET /internal/dead-letters</c> to see them (never routed by the
/// gateway; all of them only for the sidecar, see <see cref="DaprAppToken"/>). Answers follow Dapr's contract
/// (dapr-contract.md §2.5, §2.7): SUCCESS when applied or already applied, RETRY for a transient failure, DROP for an
/// event that can never be applied — never 404, which would lose it.
/// </summary>
/// <remarks>
/// With <c>Projection:BulkSubscribe:Enabled</c> (the default; <c>MaxMessagesCount</c> 500, <c>MaxAwaitDurationMs</c> 5) the sidecar delivers batches to
/// <see cref="ProductsBulkRoute"/> and the projection reads and saves each batch's views in bulk; otherwise one event
/// per request to <see cref="ProductsRoute"/>. Both routes exist either way; only the chosen one is subscribed.
/// Bulk subscribe fills a batch only up to the pub/sub component's <c>concurrency</c> (daprd 1.16), so
/// <c>components/pubsub.yaml</c> raises it to the batch size.
/// <para>
/// Who declares the subscriptions: by default the app announces them on <c>GET /dapr/subscribe</c> (programmatic), so
/// it works with any resources folder. With <c>Projection:Subscriptions</c> = <c>Declarative</c> it announces none and
/// the <c>Subscription</c> resources in <c>components/subscriptions.yaml</c> (the Helm chart's CRDs) govern: operators
/// see and change them without a build. Both declare the same routes, dead-letter topic and batch settings (a test
/// compares them); the AppHost and <c>dapr.yaml</c> run declaratively.
/// </para>
/// </remarks>
internal static class ProjectionModule
{
    public const string ProductsRoute = "/events/products";
    public const string ProductsBulkRoute = "/events/products/bulk";
    public const string ProductsDeadLetterRoute = "/events/products-deadletter";
    public const string DeadLettersRoute = "/internal/dead-letters";

    private const string Success = """{"status":"SUCCESS"}""";
    private const string Retry = """{"status":"RETRY"}""";
    private const string Drop = """{"status":"DROP"}""";

    public static IServiceCollection AddProjection(this IServiceCollection services)
    {
        services.AddMetrics();
        services.TryAddSingleton<IDeadLetterStore, DaprDeadLetterStore>(); // unless the view store brought its own
        services.AddSingleton<ProjectionMetrics>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<ProjectionHealthOptions>().BindConfiguration(ProjectionHealthOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ProjectionHealthOptions>, ProjectionHealthOptionsValidator>());
        services.AddSingleton<ProjectionLag>();
        services.AddSingleton<ProjectionHealthCheck>();
        services.AddHealthChecks().AddCheck<ProjectionHealthCheck>(ProjectionHealthCheck.Name); // untagged: /health, not /alive
        services.AddSingleton<ProductProjection>();
        services.AddSingleton<DeadLetterInbox>();
        return services;
    }

    public static IEndpointRouteBuilder MapProjection(this IEndpointRouteBuilder app, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var bulk = configuration.GetSection("Projection:BulkSubscribe");
        var announce = !string.Equals(configuration["Projection:Subscriptions"], "Declarative", StringComparison.OrdinalIgnoreCase);
        var topic = new TopicOptions
        {
            PubsubName = DaprNames.PubSub,
            Name = Topics.Products,
            DeadLetterTopic = Topics.DeadLetterOf(Topics.Products),
        };
        var single = app.MapPost(ProductsRoute, HandleProductEventAsync).ExcludeFromDescription().RequireDaprAppToken();
        var batched = app.MapPost(ProductsBulkRoute, HandleProductEventsAsync).ExcludeFromDescription().RequireDaprAppToken();
        if (announce && bulk.GetValue("Enabled", true))
        {
            batched.WithTopic(topic).WithBulkSubscribe(new BulkSubscribeTopicOptions
            {
                TopicName = Topics.Products,
                MaxMessagesCount = bulk.GetValue("MaxMessagesCount", 500),
                MaxAwaitDurationMs = bulk.GetValue("MaxAwaitDurationMs", 5),
            });
        }
        else if (announce)
        {
            single.WithTopic(topic);
        }

        var deadLetters = app.MapPost(ProductsDeadLetterRoute, HandleProductDeadLetterAsync).ExcludeFromDescription().RequireDaprAppToken();
        if (announce)
        {
            deadLetters.WithTopic(DaprNames.PubSub, Topics.DeadLetterOf(Topics.Products));
        }

        app.MapGet(DeadLettersRoute, async (IDeadLetterStore store, int? limit, CancellationToken ct) =>
                TypedResults.Ok(await store.ListAsync(Math.Clamp(limit ?? 100, 1, 1000), ct)))
            .ExcludeFromDescription()
            .RequireDaprAppToken();
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
            // Not the request's token: a delivery the sidecar gave up on is finished, never cut off between its read and
            // its write; the redelivery then finds it applied. Each call to the store has its own deadline.
            return await projection.ProjectAsync(envelope, CancellationToken.None) switch
            {
                ProjectionOutcome.Applied or ProjectionOutcome.AlreadyApplied => Status(Success),
                ProjectionOutcome.Dropped => Status(Drop),
                _ => Status(Retry),
            };
        }
        catch (Exception ex) when (ex is DaprException or ViewStoreUnavailableException)
        {
            return Status(Retry); // the sidecar or the view store is unavailable: Dapr redelivers later
        }
    }

    /// <summary>
    /// A bulk delivery (<c>com.dapr.event.sent.bulk</c>): each entry's event is a CloudEvent whose <c>data</c> is an
    /// envelope (or the envelope itself for raw payloads). Unreadable entries are dropped; a store failure retries the
    /// whole batch (projection is idempotent).
    /// </summary>
    private static async Task<Ok<BulkSubscribeAppResponse>> HandleProductEventsAsync(HttpRequest request, ProductProjection projection, CancellationToken ct)
    {
        var started = DateTimeOffset.UtcNow;
        using var body = await JsonDocument.ParseAsync(request.Body, cancellationToken: ct);
        var statuses = new List<BulkSubscribeAppResponseEntry>();
        var readable = new List<(string EntryId, EventEnvelope Envelope, System.Diagnostics.ActivityContext Trace)>();
        if (body.RootElement.TryGetProperty("entries", out var entries) && entries.ValueKind == JsonValueKind.Array)
        {
            foreach (var entry in entries.EnumerateArray())
            {
                var entryId = entry.TryGetProperty("entryId", out var id) ? id.GetString() ?? "" : "";
                if (ReadEnvelope(entry, out var envelope, out var problem))
                {
                    readable.Add((entryId, envelope, ProjectionTracing.ParentOf(entry)));
                }
                else
                {
                    projection.Unreadable(problem);
                    statuses.Add(new BulkSubscribeAppResponseEntry(entryId, BulkSubscribeAppResponseStatus.DROP));
                }
            }
        }

        IReadOnlyList<ProjectionOutcome> outcomes;
        try
        {
            // Not the request's token: see HandleProductEventAsync.
            outcomes = await projection.ProjectAsync([.. readable.Select(r => r.Envelope)], CancellationToken.None);
        }
        catch (Exception ex) when (ex is DaprException or HttpRequestException or ViewStoreUnavailableException)
        {
            outcomes = [.. readable.Select(_ => ProjectionOutcome.Retry)]; // the sidecar or the store is unavailable
        }

        ProjectionTracing.RecordBatch(Topics.Products, readable, outcomes, started);

        for (var i = 0; i < readable.Count; i++)
        {
            statuses.Add(new BulkSubscribeAppResponseEntry(readable[i].EntryId, outcomes[i] switch
            {
                ProjectionOutcome.Applied or ProjectionOutcome.AlreadyApplied => BulkSubscribeAppResponseStatus.SUCCESS,
                ProjectionOutcome.Dropped => BulkSubscribeAppResponseStatus.DROP,
                _ => BulkSubscribeAppResponseStatus.RETRY,
            }));
        }

        return TypedResults.Ok(new BulkSubscribeAppResponse(statuses));
    }

    private static bool ReadEnvelope(JsonElement entry, [NotNullWhen(true)] out EventEnvelope? envelope, out string problem)
    {
        envelope = null;
        problem = "";
        if (!entry.TryGetProperty("event", out var @event))
        {
            problem = "a bulk entry without an event";
            return false;
        }

        var isCloudEvent = entry.TryGetProperty("contentType", out var contentType)
            && contentType.GetString()?.StartsWith("application/cloudevents+json", StringComparison.OrdinalIgnoreCase) == true;
        var data = isCloudEvent && @event.ValueKind == JsonValueKind.Object && @event.TryGetProperty("data", out var inner) ? inner : @event;
        try
        {
            envelope = data.ValueKind == JsonValueKind.String
                ? JsonSerializer.Deserialize(data.GetString()!, ContractsJson.Default.EventEnvelope)
                : data.Deserialize(ContractsJson.Default.EventEnvelope);
        }
        catch (JsonException ex)
        {
            problem = $"not an event envelope: {ex.Message}";
            return false;
        }

        problem = envelope is null ? "no event envelope" : "";
        return envelope is not null;
    }

    private static async Task<ContentHttpResult> HandleProductDeadLetterAsync(HttpRequest request, DeadLetterInbox inbox, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, ct);
        try
        {
            await inbox.StoreAsync(Topics.Products, buffer.ToArray(), CancellationToken.None); // as the deliveries above
            return Status(Success);
        }
        catch (DaprException)
        {
            return Status(Retry);
        }
    }

    private static ContentHttpResult Status(string body) => TypedResults.Text(body, "application/json");
}
