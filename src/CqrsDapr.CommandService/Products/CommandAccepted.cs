using System.Text.Json;
using System.Text.Json.Serialization;
using CqrsDapr.CommandService.Http;
using CqrsDapr.Contracts;
using CqrsDapr.Contracts.Products;

namespace CqrsDapr.CommandService.Products;

/// <summary>
/// The body of every successful product command: the product, its version after the command, and the consistency
/// token a read presents to wait for the views to reach that version.
/// </summary>
public sealed record CommandAccepted(Guid Id, long Version, string ConsistencyToken)
{
    public const string ConsistencyTokenHeader = "X-Consistency-Token";

    internal static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    [JsonIgnore]
    public string ETag => VersionETag.Format(Version);

    public static CommandAccepted For(Guid id, long version) =>
        new(id, version, new ConsistencyToken(ProductAggregate.Name, id.ToString("D"), version).ToString());

    /// <summary>Sets <c>ETag</c> and <c>X-Consistency-Token</c> (every success carries them, even a 204).</summary>
    public CommandAccepted WriteHeaders(HttpResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        response.Headers.ETag = ETag;
        response.Headers[ConsistencyTokenHeader] = ConsistencyToken;
        return this;
    }
}
