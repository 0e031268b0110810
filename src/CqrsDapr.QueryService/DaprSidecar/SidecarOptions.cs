using Microsoft.Extensions.Options;

namespace CqrsDapr.QueryService.DaprSidecar;

/// <summary>
/// How the service talks to its own Dapr sidecar (section <c>Sidecar</c>, validated on start). The sidecar's endpoint
/// and token come from Dapr's own settings (<c>DAPR_HTTP_ENDPOINT</c>, <c>DAPR_GRPC_ENDPOINT</c>, <c>DAPR_API_TOKEN</c>).
/// </summary>
internal sealed class SidecarOptions
{
    public const string Section = "Sidecar";

    /// <summary>
    /// HTTP/1.1 connections for the view store's bulk saves (the SDK's bulk save leaves out the API token); a save
    /// beyond them waits for one. 8: a bulk save sends 4 chunks at a time, and the live projection (one batch at a time)
    /// and a rebuild may save at once. Every other call shares one HTTP/2 connection (gRPC).
    /// </summary>
    public int MaxConnections { get; set; } = 8;

    /// <summary>
    /// The deadline of every call to the sidecar (state reads for queries, the projection's reads and writes, dead
    /// letters, the generations document): the sidecar is told it (<c>grpc-timeout</c>) and stops waiting for the store
    /// then, and the call fails a second later if it still has no answer. 10 s: twice the sidecar's own timeout on
    /// view-store calls (resiliency <c>stateCall: 5s</c>), so its answer comes first. A query's calls end sooner when its
    /// client goes away.
    /// </summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

internal sealed class SidecarOptionsValidator : IValidateOptions<SidecarOptions>
{
    public ValidateOptionsResult Validate(string? name, SidecarOptions options)
    {
        var errors = new List<string>();
        if (options.MaxConnections < 1)
        {
            errors.Add($"{SidecarOptions.Section}:{nameof(SidecarOptions.MaxConnections)} must be at least 1 (was {options.MaxConnections}).");
        }

        if (options.CallTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{SidecarOptions.Section}:{nameof(SidecarOptions.CallTimeout)} must be positive (was {options.CallTimeout}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
