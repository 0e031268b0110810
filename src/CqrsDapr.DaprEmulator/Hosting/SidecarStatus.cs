namespace CqrsDapr.DaprEmulator.Hosting;

/// <summary>
/// Readiness as daprd's health API reports it (1.16): <c>/v1.0/healthz/outbound</c> turns healthy once components
/// are loaded (apps wait on it before they start listening); <c>/v1.0/healthz</c> also waits for the app channel.
/// </summary>
internal sealed class SidecarStatus
{
    private volatile bool outboundReady;
    private volatile bool ready;

    public bool OutboundReady => outboundReady;

    public bool Ready => ready;

    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    public void MarkOutboundReady() => outboundReady = true;

    public void MarkReady() => ready = true;
}
