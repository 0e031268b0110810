using CqrsDapr.DaprEmulator.PubSub;
using CqrsDapr.DaprEmulator.State;
using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Hosting;

namespace CqrsDapr.DaprEmulator.Api.Grpc;

/// <summary>
/// The gRPC API (daprd 1.16 <c>pkg/api/grpc/grpc.go</c>): publish (bulk publish also under its 1.17 stable name, so
/// SDK 1.17+ clients work), state, query, metadata and shutdown, over the building blocks shared with the HTTP API.
/// </summary>
internal sealed class DaprGrpcApi(StateApi state, PublishApi publish, MetadataApi metadata, IHostApplicationLifetime lifetime) : DaprGrpcServiceBase
{
    public override async Task<Empty> PublishEvent(PublishEventRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        await publish.PublishAsync(
            request.PubsubName,
            request.Topic,
            request.Data.Memory,
            request.DataContentType,
            request.Metadata,
            Header(context, "traceparent"),
            Header(context, "tracestate"),
            context.CancellationToken);
        return new Empty();
    }

    public override Task<BulkPublishResponse> BulkPublishEventAlpha1(BulkPublishRequest request, ServerCallContext context) => BulkPublishEvent(request, context);

    public override async Task<BulkPublishResponse> BulkPublishEvent(BulkPublishRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var entries = request.Entries.Select(e => new BulkPublishEntry(e.EntryId, e.Event.Memory, e.ContentType, e.Metadata)).ToList();
        var failures = await publish.BulkPublishAsync(
            request.PubsubName, request.Topic, entries, request.Metadata, Header(context, "traceparent"), Header(context, "tracestate"), context.CancellationToken);
        var response = new BulkPublishResponse();
        response.FailedEntries.AddRange(failures.Select(f => new BulkPublishResponseFailedEntry { EntryId = f.EntryId, Error = f.Error }));
        return response;
    }

    public override async Task<GetStateResponse> GetState(GetStateRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var entry = await state.GetAsync(request.StoreName, request.Key, context.CancellationToken);
        var response = new GetStateResponse();
        if (entry is not null)
        {
            response.Data = UnsafeByteOperations.UnsafeWrap(entry.Data);
            response.Etag = entry.ETag;
            if (entry.ExpiresAt is { } expires)
            {
                response.Metadata["ttlExpireTime"] = expires.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return response;
    }

    public override async Task<GetBulkStateResponse> GetBulkState(GetBulkStateRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var items = await state.GetBulkAsync(request.StoreName, request.Keys, request.Parallelism, context.CancellationToken);
        var response = new GetBulkStateResponse();
        response.Items.AddRange(items.Select(i => new BulkStateItem
        {
            Key = i.Key,
            Data = UnsafeByteOperations.UnsafeWrap(i.Data),
            Etag = i.ETag,
            Error = i.Error ?? "",
        }));
        return response;
    }

    public override async Task<Empty> SaveState(SaveStateRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var items = request.States.Select(s => new StateSaveItem(
            s.Key,
            StateApi.FromGrpcBytes(s.Value.Memory, s.Metadata),
            s.Etag?.Value,
            Concurrency(s.Options),
            s.Metadata)).ToList();
        await state.SaveAsync(request.StoreName, items, context.CancellationToken);
        return new Empty();
    }

    public override async Task<Empty> DeleteState(DeleteStateRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        await state.DeleteAsync(
            request.StoreName,
            [new StateDeleteItem(request.Key, request.Etag?.Value, Concurrency(request.Options), request.Metadata)],
            context.CancellationToken);
        return new Empty();
    }

    public override async Task<Empty> DeleteBulkState(DeleteBulkStateRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var items = request.States.Select(s => new StateDeleteItem(s.Key, s.Etag?.Value, Concurrency(s.Options), s.Metadata)).ToList();
        await state.DeleteAsync(request.StoreName, items, context.CancellationToken);
        return new Empty();
    }

    public override async Task<Empty> ExecuteStateTransaction(ExecuteStateTransactionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        // daprd 1.16 hands transaction values to the store as the raw bytes, whatever the item's contentType (unlike
        // SaveState): through gRPC, a transactional upsert is always binary.
        var items = request.Operations.Select(o => new StateTransactionItem(
            o.OperationType,
            o.Request.Key,
            StateValue.Binary(o.Request.Value.Memory),
            o.Request.Etag?.Value,
            Concurrency(o.Request.Options),
            o.Request.Metadata)).ToList();
        await state.TransactAsync(request.StoreName, items, context.CancellationToken);
        return new Empty();
    }

    public override async Task<QueryStateResponse> QueryStateAlpha1(QueryStateRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var result = await state.QueryAsync(request.StoreName, System.Text.Encoding.UTF8.GetBytes(request.Query), context.CancellationToken);
        var response = new QueryStateResponse { Token = result.Token ?? "" };
        response.Results.AddRange(result.Results.Select(r => new QueryStateItem
        {
            Key = r.Key,
            Data = UnsafeByteOperations.UnsafeWrap(r.Data),
            Etag = r.ETag,
        }));
        return response;
    }

    public override Task<GetMetadataResponse> GetMetadata(GetMetadataRequest request, ServerCallContext context) => Task.FromResult(metadata.ToGrpc());

    public override Task<Empty> Shutdown(ShutdownRequest request, ServerCallContext context)
    {
        lifetime.StopApplication();
        return Task.FromResult(new Empty());
    }

    private static StateConcurrency Concurrency(StateOptions? options) => options?.Concurrency switch
    {
        StateOptions.Types.StateConcurrency.ConcurrencyFirstWrite => StateConcurrency.FirstWrite,
        StateOptions.Types.StateConcurrency.ConcurrencyLastWrite => StateConcurrency.LastWrite,
        _ => StateConcurrency.Unspecified,
    };

    private static string? Header(ServerCallContext context, string name) => context.RequestHeaders.GetValue(name);
}
