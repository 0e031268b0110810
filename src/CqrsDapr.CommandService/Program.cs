using CqrsDapr.CommandService.EventLog;
using CqrsDapr.CommandService.Outbox;
using CqrsDapr.CommandService.Persistence;
using CqrsDapr.CommandService.Products;
using CqrsDapr.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddWriteDatabase(builder.Configuration);
builder.AddProducts();
builder.Services.AddOutbox(builder.Configuration);

var app = builder.Build();

if (args.Contains(WriteDatabaseMigrations.Command))
{
    await WriteDatabaseMigrations.ApplyAsync(app.Services);
    return;
}

if (app.Configuration.GetValue<bool>("Persistence:MigrateOnStartup"))
{
    await WriteDatabaseMigrations.ApplyAsync(app.Services);
}

app.UseProblemDetailsForErrors();
app.UseDaprAppToken();
app.MapDefaultEndpoints();
app.MapProducts();
app.MapEventLog();
await app.RunAsync();

/// <summary>Entry point, visible to WebApplicationFactory in tests.</summary>
public partial class Program;
