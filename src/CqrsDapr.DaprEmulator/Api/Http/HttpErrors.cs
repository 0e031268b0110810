using System.Text.Json;
using CqrsDapr.DaprEmulator.Hosting;
using Microsoft.AspNetCore.Http;

namespace CqrsDapr.DaprEmulator.Api.Http;

/// <summary>daprd's HTTP error body: <c>{"errorCode": "...", "message": "..."}</c>.</summary>
internal static class HttpErrors
{
    public static IResult From(DaprApiException error) =>
        Results.Json(new DaprError(error.ErrorCode, error.Message), DaprHttpJson.Options, statusCode: error.HttpStatus);

    public static IResult Of(int status, string code, string message) =>
        Results.Json(new DaprError(code, message), DaprHttpJson.Options, statusCode: status);

    /// <summary>Runs an API operation that answers <c>204</c>, or daprd's error body when it fails.</summary>
    public static async Task<IResult> NoContentOrErrorAsync(Func<Task> operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        try
        {
            await operation();
            return Results.NoContent();
        }
        catch (DaprApiException ex)
        {
            return From(ex);
        }
    }

    public static async Task WriteAsync(HttpContext context, int status, string code, string message)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, new DaprError(code, message), DaprHttpJson.Options, context.RequestAborted);
    }

    internal sealed record DaprError(string ErrorCode, string Message);
}

internal static class DaprHttpJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web);
}
