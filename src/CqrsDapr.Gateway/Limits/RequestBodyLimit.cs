using System.Buffers;
using CqrsDapr.Contracts;
using CqrsDapr.Gateway.Problems;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace CqrsDapr.Gateway.Limits;

/// <summary>
/// Refuses bodies over <see cref="GatewayOptions.MaxRequestBodyBytes"/> with 413 before anything is forwarded.
/// </summary>
/// <remarks>
/// A declared Content-Length is checked up front (and Kestrel holds the client to it). A body of unknown length
/// (chunked) is buffered first, counting payload bytes, because once the proxy has started streaming it the service
/// would see a torn request. Kestrel's own limit is not lowered for chunked bodies: it counts the chunk framing too,
/// so a body of exactly the allowed size would be refused.
/// </remarks>
internal sealed class RequestBodyLimit(RequestDelegate next, IOptions<GatewayOptions> options)
{
    private const int BufferThreshold = 64 * 1024;

    public async Task InvokeAsync(HttpContext context)
    {
        var limit = options.Value.MaxRequestBodyBytes;
        var request = context.Request;
        if (request.ContentLength > limit)
        {
            await TooLarge(context, limit);
            return;
        }

        if (request.ContentLength is not null)
        {
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
            {
                sizeFeature.MaxRequestBodySize = limit;
            }
        }
        else if (context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true
            && !await BufferWithinLimitAsync(request, limit, context.RequestAborted))
        {
            await TooLarge(context, limit);
            return;
        }

        await next(context);
    }

    private static async Task<bool> BufferWithinLimitAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        request.EnableBuffering(BufferThreshold);
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            long total = 0;
            int read;
            while ((read = await request.Body.ReadAsync(buffer, cancellationToken)) > 0)
            {
                total += read;
                if (total > limit)
                {
                    return false;
                }
            }
        }
        catch (BadHttpRequestException exception) when (exception.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        request.Body.Position = 0;
        return true;
    }

    private static Task TooLarge(HttpContext context, long limit)
    {
        // The rest of the body is not read; close the connection rather than drain an arbitrarily large upload.
        context.Response.Headers.Connection = "close";
        return GatewayProblems.WriteAsync(
            context, StatusCodes.Status413PayloadTooLarge, "Payload Too Large", ProblemCodes.PayloadTooLarge, $"Request bodies are limited to {limit} bytes.");
    }
}
