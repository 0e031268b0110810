using CqrsDapr.QueryService.Products.Queries;
using CqrsDapr.QueryService.Projection;
using CqrsDapr.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddDaprClient();
builder.AddProductQueries();
builder.Services.AddProjection();

var app = builder.Build();
app.UseProblemDetailsForErrors();
app.UseCloudEvents();
app.MapSubscribeHandler();
app.MapProjection();
app.MapDefaultEndpoints();
app.MapProductQueries();
await app.RunAsync();

/// <summary>Entry point, visible to WebApplicationFactory in tests.</summary>
public partial class Program;
