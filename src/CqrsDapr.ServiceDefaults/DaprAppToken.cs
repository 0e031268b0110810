using System.Security.Cryptography;
using System.Text;
using CqrsDapr.Contracts;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CqrsDapr.ServiceDefaults;

/// <summary>
/// The app's side of Dapr's app API token (https://docs.dapr.io/operations/security/app-api-token/): the sidecar sends
/// <c>APP_API_TOKEN</c> as header <c>dapr-api-token</c> on every call to the app. When the app has the same setting,
/// the endpoints marked with <see cref="RequireDaprAppToken{TBuilder}"/> (what only the sidecar calls: actors,
/// <c>/dapr/*</c>, subscription deliveries, <c>/internal/*</c>) answer <c>401</c> ProblemDetails without it; health
/// endpoints and the public API are never marked. Without the setting, marked endpoints are open, as they must be for a
/// sidecar that sends no token.
/// </summary>
/// <remarks>
/// Dapr.AspNetCore's <c>AddAuthentication().AddDapr()</c> scheme does the same check as an authentication handler, but
/// compares with <c>string.Equals</c> (not in constant time), challenges with a bare 401 ahead of the app's
/// ProblemDetails middleware unless the pipeline is reordered by hand, has no "open without a token" mode, and would
/// bring Dapr.AspNetCore into these defaults, which the gateway (no Dapr) shares. Like that scheme, an endpoint that
/// allows anonymous access (the actors SDK marks its <c>/healthz</c> so) stays open inside a marked group.
/// </remarks>
public static class DaprAppToken
{
    /// <summary>Setting (environment variable) with the token, the same name daprd reads.</summary>
    public const string ConfigurationKey = "APP_API_TOKEN";

    /// <summary>Header the sidecar puts the token in.</summary>
    public const string Header = "dapr-api-token";

    /// <summary>Marks endpoints as called by the Dapr sidecar only: they require the app token when one is configured.</summary>
    public static TBuilder RequireDaprAppToken<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Add(endpoint => endpoint.Metadata.Add(SidecarOnly.Instance));
        return builder;
    }

    /// <summary>
    /// Checks the token on marked endpoints when <c>APP_API_TOKEN</c> is configured (after routing, which
    /// <see cref="WebApplication"/> runs first, so the matched endpoint is known).
    /// </summary>
    public static WebApplication UseDaprAppToken(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.Configuration[ConfigurationKey] is not { Length: > 0 } token)
        {
            return app;
        }

        var expected = Encoding.UTF8.GetBytes(token);
        app.Use(async (context, next) =>
        {
            var endpoint = context.GetEndpoint();
            if (endpoint?.Metadata.GetMetadata<SidecarOnly>() is null
                || endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null
                || Matches(context.Request.Headers[Header].ToString(), expected))
            {
                await next(context);
                return;
            }

            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            await context.RequestServices.GetRequiredService<IProblemDetailsService>().TryWriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails = new ProblemDetails
                {
                    Status = StatusCodes.Status401Unauthorized,
                    Title = "Missing or invalid dapr-api-token.",
                    Detail = "Only the Dapr sidecar calls this endpoint; it sends the app API token.",
                    Extensions = { [ProblemMembers.Code] = ProblemCodes.Unauthorized },
                },
            });
        });
        return app;
    }

    private static bool Matches(string given, byte[] expected) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), expected);

    /// <summary>Endpoint metadata: only the sidecar calls this endpoint.</summary>
    private sealed class SidecarOnly
    {
        public static readonly SidecarOnly Instance = new();
    }
}
