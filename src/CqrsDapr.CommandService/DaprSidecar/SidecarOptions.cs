using Microsoft.Extensions.Options;

namespace CqrsDapr.CommandService.DaprSidecar;

/// <summary>
/// How the service talks to its own Dapr sidecar (section <c>Sidecar</c>, validated on start): how many connections
/// the actor calls may hold, and how long one call may take. The sidecar's endpoint and token come from Dapr's own
/// settings (<c>DAPR_HTTP_ENDPOINT</c>, <c>DAPR_GRPC_ENDPOINT</c>, <c>DAPR_API_TOKEN</c>).
/// </summary>
internal sealed class SidecarOptions
{
    public const string Section = "Sidecar";

    /// <summary>
    /// HTTP/1.1 connections to the sidecar for actor calls; a command beyond them waits for one. Each command holds one
    /// for the whole of its actor call, so this is the commands one replica sends on at once. 32: the gateway admits 32
    /// writes at a time (Gateway:Admission, per gateway replica) and the sidecar runs 32 turns at a time in this app
    /// (<c>commandService.dapr.appMaxConcurrency</c>); more connections would only hold calls that wait in the sidecar.
    /// </summary>
    public int MaxConnections { get; set; } = 32;

    /// <summary>
    /// The longest a command waits for its actor call (its actor's turn, the sidecar's queue, the turn itself): then
    /// the command answers 504 (<c>backend-timeout</c>) while the turn, if it started, still finishes. A healthy turn
    /// takes milliseconds; 30 s is well past any wait the admission limits allow and well inside the gateway's 100 s
    /// proxy timeout, so the client gets this service's answer rather than the gateway's.
    /// </summary>
    public TimeSpan ActorCallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The longest one publish of the outbox relay may take; then it counts as failed and the row is retried with
    /// backoff (at-least-once: a publish the sidecar finished after all is delivered twice, which consumers ignore).
    /// 30 s: beyond the sidecar's own worst case (components/resiliency.yaml: 4 attempts of 5 s with up to 2 s between
    /// them, about 23 s), so a publish the sidecar is still retrying is not abandoned, and its answer comes first.
    /// </summary>
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(30);
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

        if (options.ActorCallTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{SidecarOptions.Section}:{nameof(SidecarOptions.ActorCallTimeout)} must be positive (was {options.ActorCallTimeout}).");
        }

        if (options.PublishTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{SidecarOptions.Section}:{nameof(SidecarOptions.PublishTimeout)} must be positive (was {options.PublishTimeout}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
