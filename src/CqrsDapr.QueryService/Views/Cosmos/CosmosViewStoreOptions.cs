using System.ComponentModel.DataAnnotations;
using Microsoft.Azure.Cosmos;

namespace CqrsDapr.QueryService.Views.Cosmos;

/// <summary>
/// Section <c>ViewStore:Cosmos</c>: where the product views live when <c>ViewStore:Provider</c> is <c>Cosmos</c>
/// (see README.md beside this file for the container layout and its costs).
/// </summary>
internal sealed class CosmosViewStoreOptions : IValidatableObject
{
    public const string Section = "ViewStore:Cosmos";

    /// <summary>The account endpoint, <c>https://{account}.documents.azure.com:443/</c>.</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>
    /// The account key (from a secret, never from a file in the repository). Empty: the service authenticates with
    /// Microsoft Entra ID instead (a managed identity in Azure, see <see cref="ManagedIdentityClientId"/>); it then needs
    /// the "Cosmos DB Built-in Data Contributor" role, and the database and container must already exist.
    /// </summary>
    public string? AccountKey { get; set; }

    /// <summary>A user-assigned managed identity's client id; empty: the default Azure credential chain.</summary>
    public string? ManagedIdentityClientId { get; set; }

    [Required]
    public string Database { get; set; } = "cqrsdapr";

    [Required]
    public string Container { get; set; } = "product-views";

    /// <summary>
    /// Logical partitions per generation: a view's partition key is <c>{viewType}|{bucket}</c>, the bucket a fixed hash
    /// of its id. A list query asks each bucket (in parallel) and merges. Fixed for a container's life: changing it means
    /// a new container and a rebuild.
    /// </summary>
    [Range(1, 64)]
    public int PartitionBuckets { get; set; } = 4;

    /// <summary>
    /// Create the database and container (with the indexing policy the queries need) at start-up if missing. Off: start-up
    /// only checks they exist with the right partition key, and fails with what to create otherwise. Creating needs
    /// the account key: Entra ID data-plane roles cannot create containers.
    /// </summary>
    public bool CreateIfNotExists { get; set; }

    /// <summary>Autoscale maximum RU/s for a container created here; null: the database's shared or serverless throughput.</summary>
    [Range(1000, 1_000_000)]
    public int? AutoscaleMaxThroughput { get; set; }

    /// <summary>Direct (TCP to the replicas, the fastest) or Gateway (HTTPS to the account's gateway: firewalls, emulators).</summary>
    public ConnectionMode ConnectionMode { get; set; } = ConnectionMode.Direct;

    /// <summary>
    /// For a multi-region account: the regions to read from in order of preference (the one this replica runs in
    /// first); empty: the account's write region.
    /// </summary>
    public IReadOnlyList<string>? PreferredRegions { get; set; }

    /// <summary>Use only <see cref="Endpoint"/>, never the regional endpoints the account advertises (emulators, private links).</summary>
    public bool LimitToEndpoint { get; set; }

    /// <summary>
    /// A PEM file with the one certificate to trust for the gateway's TLS (a local emulator's self-signed certificate):
    /// then no other certificate is accepted. Empty: the machine's trust store, as for any Azure endpoint.
    /// </summary>
    public string? ServerCertificatePath { get; set; }

    /// <summary>How often the SDK retries a request the account throttled (429), each after the server's retry-after.</summary>
    [Range(0, 100)]
    public int MaxRetryAttemptsOnThrottling { get; set; } = 9;

    /// <summary>The most time all retries of one request may wait in total before the 429 surfaces.</summary>
    public TimeSpan MaxRetryWaitOnThrottling { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Operations slower than this (client side, retries included) are logged with their full diagnostics.</summary>
    public TimeSpan DiagnosticsThreshold { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Point operations a bulk read or save runs at once.</summary>
    [Range(1, 512)]
    public int BulkConcurrency { get; set; } = 64;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Endpoint is null || !Endpoint.IsAbsoluteUri || Endpoint.Scheme != Uri.UriSchemeHttps)
        {
            yield return new ValidationResult($"{Section}:Endpoint must be the account's https endpoint.", [nameof(Endpoint)]);
        }

        if (CreateIfNotExists && string.IsNullOrEmpty(AccountKey))
        {
            yield return new ValidationResult(
                $"{Section}:CreateIfNotExists needs {Section}:AccountKey: Entra ID data-plane roles cannot create databases or containers; create them with the Azure CLI or Bicep instead.",
                [nameof(CreateIfNotExists)]);
        }

        if (MaxRetryWaitOnThrottling < TimeSpan.Zero || DiagnosticsThreshold < TimeSpan.Zero)
        {
            yield return new ValidationResult($"{Section}: durations must not be negative.", [nameof(MaxRetryWaitOnThrottling), nameof(DiagnosticsThreshold)]);
        }

        if (!string.IsNullOrEmpty(ServerCertificatePath) && !File.Exists(ServerCertificatePath))
        {
            yield return new ValidationResult($"{Section}:ServerCertificatePath: no file at '{ServerCertificatePath}'.", [nameof(ServerCertificatePath)]);
        }
    }
}
