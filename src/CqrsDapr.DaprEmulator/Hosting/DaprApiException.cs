using Grpc.Core;

namespace CqrsDapr.DaprEmulator.Hosting;

/// <summary>
/// An API error as daprd reports it (1.16 <c>pkg/messages</c>, <c>pkg/api/errors</c>): an error code, a message, the
/// gRPC status the gRPC API returns and the HTTP status the HTTP API returns. HTTP bodies are
/// <c>{"errorCode": "...", "message": "..."}</c>.
/// </summary>
internal sealed class DaprApiException(string errorCode, string message, StatusCode grpcStatus, int httpStatus) : Exception(message)
{
    public string ErrorCode { get; } = errorCode;

    public StatusCode GrpcStatus { get; } = grpcStatus;

    public int HttpStatus { get; } = httpStatus;

    public static DaprApiException StateStoresNotConfigured() =>
        new("ERR_STATE_STORES_NOT_CONFIGURED", "state store is not configured", StatusCode.FailedPrecondition, 500);

    public static DaprApiException StateStoreNotFound(string name) =>
        new("ERR_STATE_STORE_NOT_FOUND", $"state store {name} is not found", StatusCode.InvalidArgument, 400);

    public static DaprApiException MalformedRequest(string detail) =>
        new("ERR_MALFORMED_REQUEST", $"failed deserializing HTTP body: {detail}", StatusCode.InvalidArgument, 400);

    public static DaprApiException ETagMismatch(string detail) =>
        new("ERR_STATE_SAVE", detail, StatusCode.Aborted, 409);

    public static DaprApiException ETagInvalid(string detail) =>
        new("ERR_STATE_SAVE", detail, StatusCode.InvalidArgument, 400);

    public static DaprApiException StateGet(string key, string store, string detail) =>
        new("ERR_STATE_GET", $"fail to get {key} from state store {store}: {detail}", StatusCode.Internal, 500);

    public static DaprApiException StateSave(string store, string detail) =>
        new("ERR_STATE_SAVE", $"failed saving state in state store {store}: {detail}", StatusCode.Internal, 500);

    public static DaprApiException StateDelete(string key, string detail) =>
        new("ERR_STATE_DELETE", $"failed deleting state with key {key}: {detail}", StatusCode.Internal, 500);

    public static DaprApiException StateTransaction(string detail) =>
        new("ERR_STATE_TRANSACTION", $"error while executing state transaction: {detail}", StatusCode.Internal, 500);

    public static DaprApiException NotTransactional(string store) =>
        new("ERR_STATE_STORE_NOT_SUPPORTED", $"state store {store} doesn't support transaction", StatusCode.Unimplemented, 500);

    public static DaprApiException QueryNotSupported(string store) =>
        new("ERR_STATE_STORE_NOT_SUPPORTED", $"state store {store} doesn't support query", StatusCode.Internal, 500);

    public static DaprApiException QueryFailed(string store, string detail) =>
        new("ERR_STATE_QUERY", $"failed query in state store {store}: {detail}", StatusCode.Internal, 500);

    public static DaprApiException PubSubNotConfigured() =>
        new("ERR_PUBSUB_NOT_CONFIGURED", "no pubsub is configured", StatusCode.FailedPrecondition, 400);

    public static DaprApiException PubSubEmpty() =>
        new("ERR_PUBSUB_EMPTY", "pubsub name is empty", StatusCode.InvalidArgument, 400);

    public static DaprApiException PubSubNotFound(string name) =>
        new("ERR_PUBSUB_NOT_FOUND", $"pubsub {name} is not found", StatusCode.InvalidArgument, 404);

    public static DaprApiException TopicEmpty(string pubsub) =>
        new("ERR_TOPIC_NAME_EMPTY", $"topic is empty in pubsub {pubsub}", StatusCode.InvalidArgument, 404);

    public static DaprApiException PublishFailed(string topic, string pubsub, string detail) =>
        new("ERR_PUBSUB_PUBLISH_MESSAGE", $"error when publish to topic {topic} in pubsub {pubsub}: {detail}", StatusCode.Internal, 500);

    public static DaprApiException CloudEventsSerialization(string detail) =>
        new("ERR_PUBSUB_CLOUD_EVENTS_SER", $"error when marshalling cloud event envelope: {detail}", StatusCode.InvalidArgument, 400);
}
