using CqrsDapr.QueryService.DaprSidecar;
using CqrsDapr.QueryService.Products.Queries;
using CqrsDapr.QueryService.Projection;
using CqrsDapr.QueryService.Rebuild;
using CqrsDapr.QueryService.Views;
using CqrsDapr.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddSidecarConnections(builder.Configuration); // the DaprClient, on bounded connections with a deadline per call
builder.AddViews();
builder.AddProductQueries();
builder.Services.AddProjection();
builder.AddRebuild();

var app = builder.Build();
app.UseProblemDetailsForErrors();
app.UseDaprAppToken();
app.UseCloudEvents();
app.MapSubscribeHandler().RequireDaprAppToken();
app.MapProjection(app.Configuration);
app.MapRebuild();
app.MapDefaultEndpoints();
app.MapProductQueries();
await app.RunAsync();

/// <summary>Entry point, visible to WebApplicationFactory in tests.</summary>
public partial class Program;
