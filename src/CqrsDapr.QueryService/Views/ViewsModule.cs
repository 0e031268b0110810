using CqrsDapr.QueryService.Views.Cosmos;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CqrsDapr.QueryService.Views;

/// <summary>
/// The view store and its generations, shared by the projection, the queries and the rebuild. <c>ViewStore:Provider</c>
/// chooses where product views live: <c>Dapr</c> (the default: the <c>viewstore</c> state store) or <c>Cosmos</c>
/// (Azure Cosmos DB through its SDK, section <c>ViewStore:Cosmos</c>), and with them the generations document and the
/// dead letters.
/// </summary>
internal static class ViewsModule
{
    public const string ProviderKey = "ViewStore:Provider";

    public static WebApplicationBuilder AddViews(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ViewChanges>();
        switch (builder.Configuration[ProviderKey])
        {
            case null or "" or "Dapr":
                builder.Services.AddSingleton<IProductViewStores, DaprProductViewStores>();
                builder.Services.AddSingleton<IGenerationsStore, DaprGenerationsStore>();
                break;
            case "Cosmos":
                builder.AddCosmosViewStore();
                break;
            case var other:
                throw new InvalidOperationException($"{ProviderKey} '{other}' is not a view store: use Dapr or Cosmos.");
        }

        builder.Services.AddSingleton<ViewGenerations>();
        builder.Services.AddHostedService<GenerationRefresher>();
        builder.Services.AddOptions<ViewGenerationOptions>()
            .Bind(builder.Configuration.GetSection(ViewGenerationOptions.Section))
            .Validate(o => o.GenerationRefresh > TimeSpan.Zero, "Views:GenerationRefresh must be positive.")
            .ValidateOnStart();
        return builder;
    }
}
