using System.Net;
using CqrsDapr.DaprEmulator.Api.Http;
using CqrsDapr.DaprEmulator.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.DaprEmulator.Invocation;

/// <summary>
/// HTTP service invocation as daprd 1.16 does it in self-hosted mode: <c>/v1.0/invoke/{appId}/method/{method}</c>
/// (any verb) or any path with header <c>dapr-app-id</c>. The caller's sidecar resolves the app-id (see
/// <see cref="AppRegistry"/>) and hands the call to the callee's sidecar (daprd: internal gRPC; here: an internal
/// HTTP endpoint guarded by the callee's registry key), which calls its app over the app channel (adding
/// <c>APP_API_TOKEN</c>). Method, path remainder, query, headers (less hop-by-hop ones and the caller's
/// <c>dapr-api-token</c>) and body go through unchanged, plus <c>dapr-caller-app-id</c>, <c>dapr-callee-app-id</c>
/// and forwarding headers; the app's status, headers and body come back as they are. Calls to the sidecar's own
/// app-id go straight to its app.
/// </summary>
internal sealed partial class ServiceInvocation : IDisposable
{
    public const string InvokePrefix = "/v1.0/invoke/";
    public const string InternalPrefix = "/dapr-emulator-internal/invoke";
    public const string AppIdHeader = "dapr-app-id";
    public const string CallerHeader = "dapr-caller-app-id";
    public const string CalleeHeader = "dapr-callee-app-id";
    private const string InternalKeyHeader = "dapr-emulator-internal-key";

    /// <summary>RFC 9110 §7.6.1 connection-specific headers, never forwarded (plus <c>Host</c>, set per hop).</summary>
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer",
        "Transfer-Encoding", "Upgrade", "Host", "Content-Length",
    };

    private readonly EmulatorOptions options;
    private readonly AppRegistry registry;
    private readonly AppChannel.AppChannel appChannel;
    private readonly ILogger<ServiceInvocation> logger;
    private readonly HttpClient sidecars;

    public ServiceInvocation(EmulatorOptions options, AppRegistry registry, AppChannel.AppChannel appChannel, ILogger<ServiceInvocation> logger)
    {
        this.options = options;
        this.registry = registry;
        this.appChannel = appChannel;
        this.logger = logger;
        sidecars = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
        })
        { Timeout = Timeout.InfiniteTimeSpan };
    }

    public static void MapServiceInvocation(IEndpointRouteBuilder app)
    {
        app.Map(InvokePrefix + "{appId}/method/{**method}", (HttpContext context, string appId, ServiceInvocation invocation) =>
            invocation.InvokeAsync(context, appId, RawRemainder(context, InvokePrefix.Length + RawSegmentLength(context, InvokePrefix.Length) + "/method".Length)));
        app.Map(InternalPrefix + "/{**method}", (HttpContext context, ServiceInvocation invocation) =>
            invocation.ServeInternalAsync(context, RawRemainder(context, InternalPrefix.Length)));
    }

    /// <summary>
    /// daprd routes any HTTP API call that carries <c>dapr-app-id</c> to service invocation of that app, with the
    /// request's own path as the method. Runs after the API token check.
    /// </summary>
    public static async Task RouteByAppIdHeaderAsync(HttpContext context, Func<Task> next)
    {
        var appId = context.Request.Headers[AppIdHeader].ToString();
        if (appId.Length == 0
            || context.Request.Path.StartsWithSegments("/v1.0/invoke", StringComparison.Ordinal)
            || context.Request.Path.StartsWithSegments(InternalPrefix, StringComparison.Ordinal)
            || context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true)
        {
            await next();
            return;
        }

        var invocation = context.RequestServices.GetService(typeof(ServiceInvocation)) as ServiceInvocation
            ?? throw new InvalidOperationException("service invocation is not registered");
        await invocation.InvokeAsync(context, appId, RawRemainder(context, 0));
    }

    private async Task InvokeAsync(HttpContext context, string appId, string pathAndQuery)
    {
        if (string.Equals(appId, options.AppId, StringComparison.Ordinal))
        {
            await CallOwnAppAsync(context, pathAndQuery, caller: options.AppId);
            return;
        }

        var target = registry.Resolve(appId);
        if (target is null)
        {
            await DirectInvokeErrorAsync(context, appId, $"couldn't find service: {appId}");
            return;
        }

        using var request = ForwardedRequest(context, new Uri(target.Endpoint + InternalPrefix + pathAndQuery), fromSidecar: false);
        request.Headers.TryAddWithoutValidation(InternalKeyHeader, target.Key);
        request.Headers.TryAddWithoutValidation(CallerHeader, options.AppId);
        request.Headers.TryAddWithoutValidation(CalleeHeader, appId);
        HttpResponseMessage response;
        try
        {
            response = await sidecars.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        }
        catch (HttpRequestException ex)
        {
            await DirectInvokeErrorAsync(context, appId, ex.Message);
            return;
        }

        using (response)
        {
            await CopyResponseAsync(response, context);
        }
    }

    /// <summary>The callee's side of a sidecar-to-sidecar call: checks the key, then calls the app.</summary>
    private async Task ServeInternalAsync(HttpContext context, string pathAndQuery)
    {
        if (!string.Equals(context.Request.Headers[InternalKeyHeader].ToString(), registry.InternalKey, StringComparison.Ordinal))
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status401Unauthorized, "ERR_UNAUTHORIZED", "invalid internal invocation key");
            return;
        }

        await CallOwnAppAsync(context, pathAndQuery, caller: null);
    }

    private async Task CallOwnAppAsync(HttpContext context, string pathAndQuery, string? caller)
    {
        if (!appChannel.Enabled)
        {
            await DirectInvokeErrorAsync(context, options.AppId, "app channel is not initialized: the sidecar was started without --app-port");
            return;
        }

        using var request = ForwardedRequest(context, new Uri(pathAndQuery, UriKind.Relative), fromSidecar: caller is null);
        if (caller is not null)
        {
            request.Headers.TryAddWithoutValidation(CallerHeader, caller);
            request.Headers.TryAddWithoutValidation(CalleeHeader, options.AppId);
        }

        HttpResponseMessage response;
        try
        {
            response = await appChannel.SendAsync(request, context.RequestAborted);
        }
        catch (HttpRequestException ex)
        {
            LogAppCallFailed(logger, request.Method.Method, pathAndQuery, ex.Message);
            await DirectInvokeErrorAsync(context, options.AppId, ex.Message);
            return;
        }

        using (response)
        {
            await CopyResponseAsync(response, context);
        }
    }

    /// <summary>
    /// The request for the next hop: same verb, headers (less hop-by-hop and Dapr tokens) and body. The caller and
    /// callee headers are the sidecars' to set: kept only on the internal hop (<paramref name="fromSidecar"/>), never
    /// taken from an app.
    /// </summary>
    private static HttpRequestMessage ForwardedRequest(HttpContext context, Uri target, bool fromSidecar)
    {
        var incoming = context.Request;
        var request = new HttpRequestMessage(new HttpMethod(incoming.Method), target);
        var hasBody = incoming.ContentLength > 0 || incoming.Headers.TransferEncoding.Count > 0;
        if (hasBody)
        {
            request.Content = new StreamContent(incoming.Body);
            request.Content.Headers.ContentLength = incoming.ContentLength;
        }

        var connectionListed = incoming.Headers.Connection.ToString()
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in incoming.Headers)
        {
            if (HopByHop.Contains(name) || connectionListed.Contains(name)
                || name.Equals(AppChannel.AppChannel.ApiTokenHeader, StringComparison.OrdinalIgnoreCase) // the caller's sidecar token stays with the caller
                || name.Equals(InternalKeyHeader, StringComparison.OrdinalIgnoreCase)
                || name.Equals(AppIdHeader, StringComparison.OrdinalIgnoreCase)
                || (!fromSidecar && (name.Equals(CallerHeader, StringComparison.OrdinalIgnoreCase) || name.Equals(CalleeHeader, StringComparison.OrdinalIgnoreCase))))
            {
                continue;
            }

            if (!request.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                request.Content ??= new ByteArrayContent([]);
                request.Content.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        if (!incoming.Headers.ContainsKey("X-Forwarded-For") && context.Connection.RemoteIpAddress is { } remote)
        {
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", remote.ToString());
        }

        if (!incoming.Headers.ContainsKey("X-Forwarded-Host"))
        {
            request.Headers.TryAddWithoutValidation("X-Forwarded-Host", Dns.GetHostName());
        }

        return request;
    }

    private static async Task CopyResponseAsync(HttpResponseMessage response, HttpContext context)
    {
        var outgoing = context.Response;
        outgoing.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (!HopByHop.Contains(name))
            {
                outgoing.Headers[name] = values.ToArray();
            }
        }

        if (response.Content.Headers.ContentLength is { } length)
        {
            outgoing.ContentLength = length;
        }

        await using var body = await response.Content.ReadAsStreamAsync(context.RequestAborted);
        await body.CopyToAsync(outgoing.Body, context.RequestAborted);
    }

    /// <summary>daprd 1.16 <c>ERR_DIRECT_INVOKE</c>: 500 with <c>failed to invoke, id: {id}, err: {detail}</c>.</summary>
    private static Task DirectInvokeErrorAsync(HttpContext context, string appId, string detail) =>
        HttpErrors.WriteAsync(context, StatusCodes.Status500InternalServerError, "ERR_DIRECT_INVOKE", $"failed to invoke, id: {appId}, err: {detail}");

    /// <summary>The raw (still percent-encoded) path and query after <paramref name="prefixLength"/> characters.</summary>
    private static string RawRemainder(HttpContext context, int prefixLength)
    {
        var raw = RawTarget(context);
        var rest = raw[Math.Min(prefixLength, raw.Length)..];
        return rest.Length == 0 || rest[0] == '?' ? "/" + rest : rest;
    }

    private static int RawSegmentLength(HttpContext context, int start)
    {
        var raw = RawTarget(context);
        var end = raw.IndexOf('/', start);
        return (end < 0 ? raw.Length : end) - start;
    }

    private static string RawTarget(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        return string.IsNullOrEmpty(raw) || raw[0] != '/'
            ? context.Request.Path.Value + context.Request.QueryString.Value
            : raw;
    }

    public void Dispose() => sidecars.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Service invocation of the app failed: {Method} {Path}: {Error}")]
    private static partial void LogAppCallFailed(ILogger logger, string method, string path, string error);
}
