using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CqrsDapr.QueryService.Views;

/// <summary>The view store and its generations, shared by the projection, the queries and the rebuild.</summary>
internal static class ViewsModule
{
    public static WebApplicationBuilder AddViews(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ViewChanges>();
        builder.Services.AddSingleton<IProductViewStores, DaprProductViewStores>();
        builder.Services.AddSingleton<ViewGenerations>();
        builder.Services.AddHostedService<GenerationRefresher>();
        builder.Services.AddOptions<ViewGenerationOptions>()
            .Bind(builder.Configuration.GetSection(ViewGenerationOptions.Section))
            .Validate(o => o.GenerationRefresh > TimeSpan.Zero, "Views:GenerationRefresh must be positive.")
            .ValidateOnStart();
        return builder;
    }
}
