using Microsoft.AspNetCore.Routing;

namespace CqrsDapr.DaprEmulator.Actors;

/// <summary>PLACEHOLDER: being implemented (actor hosting through the app channel).</summary>
internal sealed class ActorRuntime : IAsyncDisposable
{
    public IReadOnlyDictionary<string, int> ActiveActorCounts { get; } = new Dictionary<string, int>();

    public Task InitializeAsync(CancellationToken cancellationToken) => Task.Delay(ActiveActorCounts.Count, cancellationToken);

    public static void MapEndpoints(IEndpointRouteBuilder endpoints) => ArgumentNullException.ThrowIfNull(endpoints);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
