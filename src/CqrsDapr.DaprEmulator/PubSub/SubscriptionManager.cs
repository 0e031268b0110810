using CqrsDapr.DaprEmulator.Components;

namespace CqrsDapr.DaprEmulator.PubSub;

/// <summary>PLACEHOLDER: being implemented (subscription discovery and delivery to the app).</summary>
internal sealed class SubscriptionManager : IAsyncDisposable
{
    public IReadOnlyList<SubscriptionDefinition> Active { get; } = [];

    public Task StartAsync(CancellationToken cancellationToken) => Task.Delay(Active.Count, cancellationToken);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
