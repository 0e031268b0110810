using CqrsDapr.DaprEmulator.Hosting;
using Grpc.Core;

namespace CqrsDapr.DaprEmulator.Actors;

/// <summary>
/// The actor API errors daprd 1.16 returns (<c>pkg/messages/predefined.go</c>, <c>pkg/messages/errorcodes</c>):
/// error code, message text, HTTP status and gRPC code as daprd has them.
/// </summary>
internal static class ActorErrors
{
    public static DaprApiException RuntimeNotFound() => new(
        "ERR_ACTOR_RUNTIME_NOT_FOUND",
        "the state store is not configured to use the actor runtime. Have you set the - name: actorStateStore value: \"true\" in your state store component file?",
        StatusCode.Internal,
        500);

    public static DaprApiException InstanceMissing() =>
        new("ERR_ACTOR_INSTANCE_MISSING", "actor instance is missing", StatusCode.Internal, 400);

    /// <summary>Any invocation failure that is not an API error or an actor (remoting) error.</summary>
    public static DaprApiException Invoke(string detail) =>
        new("ERR_ACTOR_INVOKE_METHOD", "error invoke actor method: " + detail, StatusCode.Internal, 500);

    public static DaprApiException StateGet(string detail) =>
        new("ERR_ACTOR_STATE_GET", "error getting actor state: " + detail, StatusCode.Internal, 500);

    public static DaprApiException StateTransactionSave(string detail) =>
        new("ERR_ACTOR_STATE_TRANSACTION_SAVE", "error saving actor transaction state: " + detail, StatusCode.Internal, 500);

    public static DaprApiException ReminderCreate(string detail) =>
        new("ERR_ACTOR_REMINDER_CREATE", "error creating actor reminder: " + detail, StatusCode.Internal, 500);

    public static DaprApiException ReminderGet(string detail) =>
        new("ERR_ACTOR_REMINDER_GET", "error getting actor reminder: " + detail, StatusCode.Internal, 500);

    public static DaprApiException ReminderDelete(string detail) =>
        new("ERR_ACTOR_REMINDER_DELETE", "error deleting actor reminder: " + detail, StatusCode.Internal, 500);

    public static DaprApiException ReminderNotFound(string name) =>
        new("ERR_ACTOR_REMINDER_NOT_FOUND", "actor reminder not found: " + name, StatusCode.NotFound, 404);

    public static DaprApiException ReminderOpActorNotHosted() => new(
        "ERR_ACTOR_REMINDER_NON_HOSTED",
        "operations on actor reminders are only possible on hosted actor types",
        StatusCode.PermissionDenied,
        403);

    public static DaprApiException TimerCreate(string detail) =>
        new("ERR_ACTOR_TIMER_CREATE", "error creating actor timer: " + detail, StatusCode.Internal, 500);

    public static DaprApiException MaxStackDepthExceeded() =>
        new("ERR_ACTOR_STACK_DEPTH", "maximum stack depth exceeded", StatusCode.ResourceExhausted, 500);

    public static DaprApiException RuntimeClosed() =>
        new("ERR_ACTOR_RUNTIME_CLOSED", "actor runtime is closed", StatusCode.Unavailable, 503);

    public static DaprApiException MalformedRequest(string detail) =>
        new("ERR_MALFORMED_REQUEST", "failed deserializing HTTP body: " + detail, StatusCode.InvalidArgument, 400);

    /// <summary>
    /// daprd answers a call for an actor type no sidecar hosts with placement's "did not find address for actor"
    /// (wrapped as an invocation error). The emulator has no placement, so it also says why.
    /// </summary>
    public static DaprApiException NotHostedHere(string actorType, string actorId, string appId, IEnumerable<string> hosted) => Invoke(
        $"failed to lookup actor: did not find address for actor {actorType}/{actorId}: the Dapr emulator hosts only the actor types of its own app " +
        $"('{appId}': {FormatTypes(hosted)}); placement of actors across sidecars is not emulated, run daprd with the placement service for that");

    private static string FormatTypes(IEnumerable<string> types)
    {
        var list = types.Order(StringComparer.Ordinal).ToList();
        return list.Count == 0 ? "none" : string.Join(", ", list);
    }
}
