using CqrsDapr.Gateway.Problems;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace CqrsDapr.Gateway.Limits;

/// <summary>
/// Refuses bodies over <see cref="GatewayOptions.MaxRequestBodyBytes"/> with 413 before anything is forwarded.
/// </summary>
/// <remarks>
/// A declared Content-Length is checked up front. A body of unknown length (chunked) is read into a buffer first,
/// within the limit, because once the proxy has started streaming it the service would see a torn request.
/// </remarks>
internal sealed class RequestBodyLimit(RequestDelegate next, IOptions<GatewayOptions> options)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var limit = options.Value.MaxRequestBodyBytes;
        var sizeFeature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false })
        {
            sizeFeature.MaxRequestBodySize = limit;
        }

        var request = context.Request;
        if (request.ContentLength > limit)
        {
            await TooLarge(context, limit);
            return;
        }

        var canHaveBody = context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? false;
        if (request.ContentLength is null && canHaveBody)
        {
            request.EnableBuffering(bufferThreshold: 64 * 1024, bufferLimit: limit);
            try
            {
                await request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
            }
            catch (Exception exception) when (IsTooLarge(exception))
            {
                await TooLarge(context, limit);
                return;
            }

            request.Body.Position = 0;
        }

        await next(context);
    }

    private static bool IsTooLarge(Exception exception) =>
        exception is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } or IOException;

    private static Task TooLarge(HttpContext context, long limit)
    {
        // The rest of the body is not read; close the connection rather than drain an arbitrarily large upload.
        context.Response.Headers.Connection = "close";
        return GatewayProblems.WriteAsync(
            context, StatusCodes.Status413PayloadTooLarge, "Payload Too Large", $"Request bodies are limited to {limit} bytes.");
    }
}
