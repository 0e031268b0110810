using CqrsDapr.CommandService.DaprSidecar;
using CqrsDapr.CommandService.Diagnostics;
using CqrsDapr.CommandService.Http;
using CqrsDapr.CommandService.Idempotency;
using CqrsDapr.CommandService.Products.AdjustStock;
using CqrsDapr.CommandService.Products.Create;
using CqrsDapr.CommandService.Products.Delete;
using CqrsDapr.CommandService.Products.Update;
using CqrsDapr.ServiceDefaults;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CqrsDapr.CommandService.Products;

/// <summary>The products feature: its services and actor (<see cref="AddProducts"/>) and its routes (<see cref="MapProducts"/>).</summary>
internal static class ProductsModule
{
    /// <summary>
    /// Registers the product actor and the command path. The Dapr sidecar's endpoint and API token come from
    /// configuration (<c>DAPR_HTTP_ENDPOINT</c> or <c>DAPR_HTTP_PORT</c>, <c>DAPR_API_TOKEN</c>), read by the actors SDK.
    /// </summary>
    public static WebApplicationBuilder AddProducts(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOpenApi();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<CommandMetrics>();
        builder.Services.AddIdempotency(builder.Configuration);
        builder.Services.AddSidecarConnections(builder.Configuration); // the actor calls' connections and deadline
        builder.Services.AddSingleton<ProductCommandSender>();
        builder.Services.AddActors(options =>
        {
            options.Actors.RegisterActor<ProductActor>();
            options.UseJsonSerialization = true;
        });
        return builder;
    }

    public static WebApplication MapProducts(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapActorsHandlers().RequireDaprAppToken(); // /dapr/config and /actors/*: the sidecar's calls (its /healthz stays open)
        app.MapOpenApi();

        var products = app.MapGroup(ProductRoute.Prefix).WithTags("Products");

        products.MapPost("/", CreateProductEndpoint.HandleAsync)
            .WithName("CreateProduct")
            .WithSummary("Create a product")
            .WithDescription("The server assigns the id. Send Idempotency-Key to make retries safe.")
            .Accepts<CreateProductRequest>(JsonRequestBody.Json)
            .CommandProblems(conflict: true)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .AddEndpointFilter(new CommandOutcomeFilter(CreateProductEndpoint.Command));

        products.MapPatch("/{id}", UpdateProductEndpoint.HandleAsync)
            .WithName("UpdateProduct")
            .WithSummary("Change a product's details (JSON merge patch)")
            .Accepts<UpdateProductRequest>(JsonRequestBody.MergePatchJson, JsonRequestBody.Json)
            .CommandProblems(conflict: false)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed)
            .AddEndpointFilter(new CommandOutcomeFilter(UpdateProductEndpoint.Command));

        products.MapPost("/{id}/stock-adjustments", AdjustStockEndpoint.HandleAsync)
            .WithName("AdjustStock")
            .WithSummary("Add or remove stock")
            .Accepts<AdjustStockRequest>(JsonRequestBody.Json)
            .CommandProblems(conflict: true)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .AddEndpointFilter(new CommandOutcomeFilter(AdjustStockEndpoint.Command));

        products.MapDelete("/{id}", DeleteProductEndpoint.HandleAsync)
            .WithName("DeleteProduct")
            .WithSummary("Delete a product")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed)
            .ProducesProblem(StatusCodes.Status504GatewayTimeout)
            .AddEndpointFilter(new CommandOutcomeFilter(DeleteProductEndpoint.Command));

        return app;
    }

    private static RouteHandlerBuilder CommandProblems(this RouteHandlerBuilder endpoint, bool conflict)
    {
        endpoint.ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status504GatewayTimeout);
        return conflict ? endpoint.ProducesProblem(StatusCodes.Status409Conflict) : endpoint;
    }
}
