using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CqrsDapr.CommandService.Http;
using CqrsDapr.CommandService.Persistence;
using CqrsDapr.CommandService.Products;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace CqrsDapr.CommandService.Idempotency;

/// <summary>
/// The <c>Idempotency-Key</c> request header (IETF draft-ietf-httpapi-idempotency-key-header): a retried POST with
/// the same key gets the first response back. Records are written by the actor turn, in the transaction of the
/// change; this class reads them. A key is scoped by method and route template, and remembers a fingerprint of the
/// request (route id and validated body), so the same key with a different request is answered <c>422</c>.
/// A key counts for <see cref="IdempotencyOptions.Retention"/>: after that its record is ignored, whether or not the
/// sweep (<see cref="IdempotencyRetention"/>) has deleted it yet, so the key runs as a new request.
/// </summary>
internal sealed class IdempotencyKeys(IDbContextFactory<WriteDbContext> databases, IOptions<IdempotencyOptions> options, TimeProvider time)
{
    public const string Header = "Idempotency-Key";

    public const int MaxKeyLength = 255;

    /// <summary>The key from the header (null when absent); a malformed one is a field error.</summary>
    public static string? Read(string? header, FieldErrors errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (header is null)
        {
            return null;
        }

        if (header.Length is 0 or > MaxKeyLength || header.Any(char.IsControl))
        {
            errors.Add(Header, $"{Header} must be 1 to {MaxKeyLength} printable characters.");
            return null;
        }

        return header;
    }

    /// <summary>What the actor stores with the change if <paramref name="key"/> is set; null otherwise.</summary>
    public static IdempotencyRequest? Request<TCommand>(string? key, string scope, TCommand fingerprinted, int successStatus, string? location)
    {
        if (key is null)
        {
            return null;
        }

        var canonical = JsonSerializer.SerializeToUtf8Bytes(fingerprinted, CommandAccepted.JsonOptions);
        var fingerprint = Convert.ToHexStringLower(SHA256.HashData([.. Encoding.UTF8.GetBytes(scope + "\n"), .. canonical]));
        return new IdempotencyRequest(scope + " " + key, fingerprint, successStatus, location);
    }

    /// <summary>The stored first response for the request's key, if any and not expired.</summary>
    public async Task<IdempotencyRecord?> FindAsync(IdempotencyRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var expiredBefore = options.Value.ExpiredBefore(time.GetUtcNow());
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.IdempotencyRecords.AsNoTracking()
            .SingleOrDefaultAsync(r => r.Key == request.Key && r.CreatedAt >= expiredBefore, cancellationToken);
    }

    /// <summary>The first response's body when <paramref name="record"/> was made by the same request; null when the key was reused.</summary>
    public static CommandAccepted? Replay(IdempotencyRecord record, IdempotencyRequest request, HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(http);
        if (!string.Equals(record.RequestFingerprint, request.Fingerprint, StringComparison.Ordinal))
        {
            return null;
        }

        var body = JsonSerializer.Deserialize<CommandAccepted>(record.ResponseBody!, CommandAccepted.JsonOptions)!;
        http.Response.Headers.ETag = record.ETag;
        http.Response.Headers[CommandAccepted.ConsistencyTokenHeader] = record.ConsistencyToken;
        return body;
    }
}
