using CqrsDapr.Gateway;
using CqrsDapr.Gateway.Admission;
using CqrsDapr.Gateway.Clients;
using CqrsDapr.Gateway.Correlation;
using CqrsDapr.Gateway.Cors;
using CqrsDapr.Gateway.Limits;
using CqrsDapr.Gateway.PathGuard;
using CqrsDapr.Gateway.Proxy;
using CqrsDapr.ServiceDefaults;
using Microsoft.Extensions.Options;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddOptions<GatewayOptions>()
    .Bind(builder.Configuration.GetSection(GatewayOptions.SectionName))
    .ValidateOnStart();
builder.Services.AddSingleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>();
builder.Services.AddTrustedProxies();
builder.Services.AddGatewayCors();
builder.Services.AddClientRateLimiting();
builder.Services.AddAdmission();
builder.Services.AddGatewayProxy(builder.Configuration);

var app = builder.Build();

// Order matters: the client address is settled first (rate limits key on it); every answer carries the correlation
// id; internal paths are refused before anything else sees them; preflights end at CORS; throttled and oversized
// requests end before routing; what routing gives to the proxy is admitted last, right before it is forwarded, so a
// client over its own rate limit gets 429 and only requests the backends would get count against their capacity.
app.UseForwardedHeaders();
app.UseMiddleware<CorrelationId>();
app.UseProblemDetailsForErrors();
app.UseMiddleware<InternalPathGuard>();
app.UseCors(GatewayCors.PolicyName);
app.UseMiddleware<ClientRateLimiting>();
app.UseMiddleware<RequestBodyLimit>();
app.UseRouting();
app.UseMiddleware<AdmissionControl>();

app.MapDefaultEndpoints();
app.MapGatewayProxy();
await app.RunAsync();

/// <summary>Entry point, visible to WebApplicationFactory in tests.</summary>
public partial class Program;
