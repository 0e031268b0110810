using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

namespace CqrsDapr.TestSupport;

/// <summary>A route an app maps, as a request a test can send: its method and a path with every parameter filled in.</summary>
public sealed record AppRoute(string Method, string Path)
{
    private static readonly string[] SidecarPrefixes = ["/dapr/", "/actors/", "/internal/", "/events/"];

    /// <summary>
    /// A route only the Dapr sidecar calls (Dapr's app channel, actors, subscription deliveries, internal endpoints),
    /// told by its path so that a route added without its token check is still found.
    /// </summary>
    public bool IsCalledBySidecar => SidecarPrefixes.Any(prefix => Path.StartsWith(prefix, StringComparison.Ordinal));

    /// <summary><c>"PUT /actors/{actorTypeName}/…"</c> with parameters filled in.</summary>
    public override string ToString() => $"{Method} {Path}";

    /// <summary>Sends this route's request, with Dapr's app API token header (<c>dapr-api-token</c>) when given one.</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpClient client, string? appToken, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        using var request = new HttpRequestMessage(new HttpMethod(Method), new Uri(Path, UriKind.Relative));
        if (appToken is not null)
        {
            request.Headers.Add("dapr-api-token", appToken);
        }

        return await client.SendAsync(request, cancellationToken);
    }
}

/// <summary>
/// Every route an ASP.NET Core app maps (its endpoint data source), so a test can hold a rule against all of them,
/// including routes added later, rather than against a list it keeps by hand.
/// </summary>
public static class AppRoutes
{
    /// <summary>The routes of the app whose services these are; a route parameter is filled in with <c>test</c>.</summary>
    public static IReadOnlyList<AppRoute> All(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        return [.. services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .SelectMany(endpoint => Methods(endpoint).Select(method => new AppRoute(method, PathOf(endpoint.RoutePattern))))
            .Distinct()];
    }

    private static IEnumerable<string> Methods(RouteEndpoint endpoint) =>
        endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods is { Count: > 0 } methods ? methods : [HttpMethods.Get];

    private static string PathOf(RoutePattern pattern) =>
        "/" + string.Join('/', pattern.PathSegments.Select(segment => string.Concat(segment.Parts.Select(part => part switch
        {
            RoutePatternLiteralPart literal => literal.Content,
            RoutePatternSeparatorPart separator => separator.Content,
            RoutePatternParameterPart => "test",
            _ => throw new NotSupportedException(string.Create(CultureInfo.InvariantCulture, $"route part {part.PartKind}")),
        }))));
}
