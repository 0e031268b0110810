namespace CqrsDapr.Gateway.Correlation;

/// <summary>
/// Every request gets one correlation id: a well-formed one from the client is kept, anything else is replaced.
/// It is forwarded to the service, echoed on the response and put in the log scope.
/// </summary>
internal sealed class CorrelationId(RequestDelegate next, ILogger<CorrelationId> logger)
{
    public const string HeaderName = "X-Correlation-Id";
    public const int MaxLength = 64;

    public async Task InvokeAsync(HttpContext context)
    {
        var id = IsWellFormed(context.Request.Headers[HeaderName].ToString())
            ? context.Request.Headers[HeaderName].ToString()
            : Guid.NewGuid().ToString("N");

        // Set on the request so the proxy forwards exactly this value (and only one of it).
        context.Request.Headers[HeaderName] = id;
        context.Response.OnStarting(() =>
        {
            context.Response.Headers[HeaderName] = id;
            return Task.CompletedTask;
        });

        using (logger.BeginScope(new Dictionary<string, object> { ["CorrelationId"] = id }))
        {
            await next(context);
        }
    }

    /// <summary>Bounded length and a safe alphabet, so the id cannot smuggle text into headers or logs.</summary>
    public static bool IsWellFormed(string? value) =>
        !string.IsNullOrEmpty(value)
        && value.Length <= MaxLength
        && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':');
}
