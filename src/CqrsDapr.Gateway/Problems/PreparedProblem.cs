using System.Text;
using System.Text.Json;
using CqrsDapr.Contracts;
using Microsoft.AspNetCore.Mvc;

namespace CqrsDapr.Gateway.Problems;

/// <summary>
/// A problem answer the gateway gives in floods (refusals under overload, a client over its rate limit), serialized
/// once and written with the request's trace id in one buffer with its Content-Length: the response leaves in a single
/// send. Through <see cref="IProblemDetailsService"/> each refusal was serialized again and sent chunked, in two
/// sends; under a 4× read overload that was a fifth of the gateway's CPU. The members are those the problem details
/// service writes (<see cref="GatewayProblems"/>): type, title, status, detail, <c>code</c>, <c>traceId</c>.
/// </summary>
internal sealed class PreparedProblem
{
    private const string ContentType = "application/problem+json";
    private static readonly byte[] Tail = "\"}"u8.ToArray();
    private readonly byte[] head;
    private readonly int status;

    public PreparedProblem(int status, string title, string code, string? detail = null)
    {
        this.status = status;
        var problem = new ProblemDetails
        {
            Type = TypeOf(status),
            Title = title,
            Status = status,
            Detail = detail,
            Extensions = { [ProblemMembers.Code] = code },
        };
        var json = JsonSerializer.SerializeToUtf8Bytes(problem, JsonSerializerOptions.Web);
        head = [.. json.AsSpan(0, json.Length - 1), .. ",\"traceId\":\""u8]; // the closing brace comes after the trace id
    }

    /// <summary>Sets the status, content type and length and writes the body; the caller sets any other header first.</summary>
    public Task WriteAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var traceId = context.TraceIdentifier;
        var encoded = IsPlain(traceId) ? traceId : JsonEncodedText.Encode(traceId).Value;
        var length = head.Length + Encoding.UTF8.GetByteCount(encoded) + Tail.Length;

        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = ContentType;
        response.ContentLength = length;
        var writer = response.BodyWriter;
        var span = writer.GetSpan(length);
        head.CopyTo(span);
        var written = head.Length + Encoding.UTF8.GetBytes(encoded, span[head.Length..]);
        Tail.CopyTo(span[written..]);
        writer.Advance(length);
        return Task.CompletedTask; // Kestrel sends the buffered headers and body together when the request ends
    }

    /// <summary>The RFC section the problem details service names as the type of these statuses (none for 429).</summary>
    private static string? TypeOf(int status) => status switch
    {
        StatusCodes.Status429TooManyRequests => null,
        StatusCodes.Status503ServiceUnavailable => "https://tools.ietf.org/html/rfc9110#section-15.6.4",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "no prepared problem type for this status"),
    };

    // Kestrel's trace identifiers ("0HN…:00000001") need no JSON escaping; anything else set by a middleware is escaped.
    private static bool IsPlain(string value)
    {
        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not (':' or '-' or '.' or '_'))
            {
                return false;
            }
        }

        return true;
    }
}
