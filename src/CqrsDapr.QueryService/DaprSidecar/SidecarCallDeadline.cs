using System.Globalization;

namespace CqrsDapr.QueryService.DaprSidecar;

/// <summary>
/// A deadline on every gRPC call to the sidecar that has none (the Dapr SDK sets none): the sidecar is told it in
/// <c>grpc-timeout</c>, so its own work for the call (a wait for a view-store connection, the query) ends then, and the
/// call is abandoned <see cref="Grace"/> later if the sidecar has still not answered.
/// </summary>
internal sealed class SidecarCallDeadline(TimeSpan timeout) : DelegatingHandler
{
    public const string Header = "grpc-timeout";

    /// <summary>How long past its deadline a call waits for the sidecar's own answer (DEADLINE_EXCEEDED or a store error).</summary>
    internal static readonly TimeSpan Grace = TimeSpan.FromSeconds(1);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Headers.Contains(Header))
        {
            return await base.SendAsync(request, cancellationToken);
        }

        // gRPC's TimeoutValue: at most 8 digits, here in milliseconds ("m").
        request.Headers.TryAddWithoutValidation(Header, string.Create(CultureInfo.InvariantCulture, $"{Math.Min((long)timeout.TotalMilliseconds, 99_999_999)}m"));
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout + Grace);
        return await base.SendAsync(request, deadline.Token);
    }
}
