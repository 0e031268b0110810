using Microsoft.AspNetCore.Http;

namespace CqrsDapr.DaprEmulator.Api.Http;

internal static class RequestBody
{
    /// <summary>The whole request body, buffered once at its declared length (the HTTP API's bodies are small).</summary>
    public static async Task<ReadOnlyMemory<byte>> ReadAsync(HttpRequest request)
    {
        using var buffer = new MemoryStream(request.ContentLength is > 0 and < int.MaxValue ? (int)request.ContentLength.Value : 256);
        await request.Body.CopyToAsync(buffer, request.HttpContext.RequestAborted);
        return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
    }
}
