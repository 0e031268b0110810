using CqrsDapr.DaprEmulator.Components;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.DaprEmulator.State;

/// <summary>PLACEHOLDER: being implemented (state.postgresql v1).</summary>
internal sealed class PostgresV1StateStore(ComponentDefinition definition, ILogger logger) : IStateStore
{
    public string Name => definition.Name;

    public StateFeatures Features => StateFeatures.ETag | StateFeatures.Transactional | StateFeatures.Query | StateFeatures.Ttl;

    public Task InitAsync(CancellationToken cancellationToken) => throw new NotImplementedException(logger.ToString());

    public Task<StateEntry?> GetAsync(string key, CancellationToken cancellationToken) => throw new NotImplementedException();

    public Task SetAsync(StateSet request, CancellationToken cancellationToken) => throw new NotImplementedException();

    public Task DeleteAsync(StateDelete request, CancellationToken cancellationToken) => throw new NotImplementedException();

    public Task TransactAsync(IReadOnlyList<StateOperation> operations, CancellationToken cancellationToken) => throw new NotImplementedException();

    public Task<QueryResponse> QueryAsync(StateQuery query, CancellationToken cancellationToken) => throw new NotImplementedException();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
