using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace CqrsDapr.DaprEmulator.Api.Grpc;

/// <summary>
/// Server binding for <c>dapr.proto.runtime.v1.Dapr</c>. The Dapr.Protos package ships only the client stub, so this
/// plays the part of the generated server base: it declares the implemented methods and binds them by name
/// (Grpc.AspNetCore resolves each handler as an override of a method declared here). Every method not bound answers
/// <c>Unimplemented</c>, as daprd does for what it lacks.
/// </summary>
[BindServiceMethod(typeof(DaprGrpcServiceBase), nameof(BindService))]
internal abstract class DaprGrpcServiceBase
{
    public const string ServiceName = "dapr.proto.runtime.v1.Dapr";

    /// <summary>Read by gRPC reflection, so clients (SDK 1.18+ version probing) see the service as daprd registers it.</summary>
    public static Google.Protobuf.Reflection.ServiceDescriptor Descriptor { get; } = DaprReflection.Descriptor.Services.Single(s => s.FullName == ServiceName);

    public static void BindService(ServiceBinderBase binder, DaprGrpcServiceBase? service)
    {
        ArgumentNullException.ThrowIfNull(binder);
        Bind<PublishEventRequest, Empty>(binder, nameof(PublishEvent));
        Bind<BulkPublishRequest, BulkPublishResponse>(binder, nameof(BulkPublishEventAlpha1));
        Bind<BulkPublishRequest, BulkPublishResponse>(binder, nameof(BulkPublishEvent));
        Bind<GetStateRequest, GetStateResponse>(binder, nameof(GetState));
        Bind<GetBulkStateRequest, GetBulkStateResponse>(binder, nameof(GetBulkState));
        Bind<SaveStateRequest, Empty>(binder, nameof(SaveState));
        Bind<DeleteStateRequest, Empty>(binder, nameof(DeleteState));
        Bind<DeleteBulkStateRequest, Empty>(binder, nameof(DeleteBulkState));
        Bind<ExecuteStateTransactionRequest, Empty>(binder, nameof(ExecuteStateTransaction));
        Bind<QueryStateRequest, QueryStateResponse>(binder, nameof(QueryStateAlpha1));
        Bind<GetMetadataRequest, GetMetadataResponse>(binder, nameof(GetMetadata));
        Bind<ShutdownRequest, Empty>(binder, nameof(Shutdown));
    }

    public abstract Task<Empty> PublishEvent(PublishEventRequest request, ServerCallContext context);

    public abstract Task<BulkPublishResponse> BulkPublishEventAlpha1(BulkPublishRequest request, ServerCallContext context);

    public abstract Task<BulkPublishResponse> BulkPublishEvent(BulkPublishRequest request, ServerCallContext context);

    public abstract Task<GetStateResponse> GetState(GetStateRequest request, ServerCallContext context);

    public abstract Task<GetBulkStateResponse> GetBulkState(GetBulkStateRequest request, ServerCallContext context);

    public abstract Task<Empty> SaveState(SaveStateRequest request, ServerCallContext context);

    public abstract Task<Empty> DeleteState(DeleteStateRequest request, ServerCallContext context);

    public abstract Task<Empty> DeleteBulkState(DeleteBulkStateRequest request, ServerCallContext context);

    public abstract Task<Empty> ExecuteStateTransaction(ExecuteStateTransactionRequest request, ServerCallContext context);

    public abstract Task<QueryStateResponse> QueryStateAlpha1(QueryStateRequest request, ServerCallContext context);

    public abstract Task<GetMetadataResponse> GetMetadata(GetMetadataRequest request, ServerCallContext context);

    public abstract Task<Empty> Shutdown(ShutdownRequest request, ServerCallContext context);

    private static void Bind<TRequest, TResponse>(ServiceBinderBase binder, string name)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        // Grpc.AspNetCore finds the handler by this method name (an override of the abstract method); the delegate is unused.
        binder.AddMethod(new Method<TRequest, TResponse>(MethodType.Unary, ServiceName, name, Marshaller<TRequest>(), Marshaller<TResponse>()), (UnaryServerMethod<TRequest, TResponse>?)null);
    }

    private static Marshaller<T> Marshaller<T>()
        where T : class, IMessage<T>, new()
    {
        var parser = new MessageParser<T>(() => new T());
        return Marshallers.Create(
            (message, context) =>
            {
                context.SetPayloadLength(message.CalculateSize());
                message.WriteTo(context.GetBufferWriter());
                context.Complete();
            },
            context => parser.ParseFrom(context.PayloadAsReadOnlySequence()));
    }
}
