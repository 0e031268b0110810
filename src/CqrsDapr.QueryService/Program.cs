using CqrsDapr.QueryService.Products.Queries;
using CqrsDapr.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddDaprClient();
builder.AddProductQueries();

var app = builder.Build();
app.UseProblemDetailsForErrors();
app.UseCloudEvents();
app.MapSubscribeHandler();
app.MapDefaultEndpoints();
app.MapProductQueries();
await app.RunAsync();

/// <summary>Entry point, visible to WebApplicationFactory in tests.</summary>
public partial class Program;
