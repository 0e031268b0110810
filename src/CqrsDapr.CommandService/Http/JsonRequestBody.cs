using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;

namespace CqrsDapr.CommandService.Http;

/// <summary>
/// Reads a command's JSON body ourselves rather than through model binding, so that every failure is a ProblemDetails
/// we choose: <c>415</c> for a non-JSON content type, <c>413</c> past <see cref="MaxBytes"/>, <c>400</c> with a field
/// error for malformed JSON or a body that is not an object. Field validation then sees the raw JSON, which is what
/// a merge patch needs (absent and null differ) and what lets every wrong type be reported at once.
/// </summary>
internal static class JsonRequestBody
{
    /// <summary>Largest command body accepted; a product is far smaller.</summary>
    public const int MaxBytes = 64 * 1024;

    public const string Json = "application/json";

    public const string MergePatchJson = "application/merge-patch+json";

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 16 };

    /// <summary>
    /// The body as a JSON object; or a <c>413</c>/<c>415</c> problem to answer with; or null with a field error
    /// (<c>$</c>) in <paramref name="errors"/> when the body is not a JSON object.
    /// </summary>
    public static async Task<(JsonElement? Root, ProblemHttpResult? Problem)> ReadObjectAsync(
        HttpRequest request, IReadOnlyCollection<string> mediaTypes, FieldErrors errors, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(errors);
        ArgumentNullException.ThrowIfNull(request);
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType)
            || !mediaTypes.Contains(contentType.MediaType.Value ?? "", StringComparer.OrdinalIgnoreCase))
        {
            return (null, Problems.UnsupportedMediaType(mediaTypes));
        }

        if (request.ContentLength > MaxBytes)
        {
            return (null, Problems.PayloadTooLarge());
        }

        byte[] bytes;
        try
        {
            bytes = await ReadBoundedAsync(request.Body, cancellationToken);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, Problems.PayloadTooLarge());
        }
        catch (PayloadTooLargeException)
        {
            return (null, Problems.PayloadTooLarge());
        }

        // JsonDocument checks UTF-8 only when a string is read, which would surface as a 500 in validation.
        if (!System.Text.Unicode.Utf8.IsValid(bytes))
        {
            errors.Add("$", "The request body is not valid UTF-8.");
            return (null, null);
        }

        try
        {
            using var document = JsonDocument.Parse(bytes, DocumentOptions);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                errors.Add("$", "The request body must be a JSON object.");
                return (null, null);
            }

            return (document.RootElement.Clone(), null);
        }
        catch (JsonException e)
        {
            errors.Add("$", $"The request body is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}).");
            return (null, null);
        }
    }

    private static async Task<byte[]> ReadBoundedAsync(Stream body, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBytes)
            {
                throw new PayloadTooLargeException();
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private sealed class PayloadTooLargeException : Exception;
}
