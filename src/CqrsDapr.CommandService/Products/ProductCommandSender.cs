using System.Diagnostics;
using CqrsDapr.CommandService.DaprSidecar;
using CqrsDapr.CommandService.Diagnostics;
using CqrsDapr.CommandService.Http;
using CqrsDapr.CommandService.Idempotency;
using CqrsDapr.Contracts;
using Dapr.Actors;
using Dapr.Actors.Client;
using Dapr.Actors.Runtime;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace CqrsDapr.CommandService.Products;

/// <summary>What an endpoint answers: the accepted command's body (headers already set), or a problem.</summary>
internal readonly record struct CommandReply(CommandAccepted? Body, ProblemHttpResult? Problem);

/// <summary>
/// The command handler behind every product endpoint: answers a retried <c>Idempotency-Key</c> from its record,
/// otherwise sends the command to the product's actor through the Dapr sidecar and turns the actor's answer into a
/// reply. It loads nothing itself; deciding and writing happen in the actor's turn.
/// </summary>
/// <remarks>
/// The call is the SDK's plain JSON actor invocation (<see cref="ActorProxy.InvokeMethodAsync{TRequest,TResponse}(string,TRequest,CancellationToken)"/>),
/// not a typed remoting proxy: a remoting proxy builds its own serializers, so every command paid System.Text.Json's
/// type-metadata build again (half of the service's CPU per request under load). These proxies share one
/// <see cref="ActorProxyOptions.JsonSerializerOptions"/>, the runtime's, so both ends agree and the metadata is built once.
/// <para>
/// They also share the sidecar's connections (<see cref="SidecarConnections.ActorCalls"/>, bounded and kept alive), and
/// each call has a deadline (<see cref="SidecarOptions.ActorCallTimeout"/>, answered 504). The request's cancellation
/// (the client went away) ends the wait for the actor, which is safe: a turn that has not started never starts (the
/// sidecar drops the call), and one that has started is not cancelled, since actor methods take no token, so it
/// commits or rolls back whole, and a retry with the same Idempotency-Key gets its answer.
/// </para>
/// </remarks>
internal sealed class ProductCommandSender(
    IOptions<ActorRuntimeOptions> runtime,
    IOptions<SidecarOptions> sidecar,
    SidecarConnections connections,
    IdempotencyKeys idempotencyKeys)
{
    public const string CorrelationHeader = "X-Correlation-Id";

    private readonly ActorProxyFactory proxies = new(
        new ActorProxyOptions
        {
            // The same sidecar endpoint and API token the actor runtime was configured with (DAPR_HTTP_ENDPOINT /
            // DAPR_HTTP_PORT / DAPR_API_TOKEN from configuration). The SDK reads the endpoint as a Uri and hands it back
            // with a trailing slash, which the proxy would turn into "//v1.0/actors/...".
            HttpEndpoint = runtime.Value.HttpEndpoint?.TrimEnd('/'),
            DaprApiToken = runtime.Value.DaprApiToken,
            JsonSerializerOptions = runtime.Value.JsonSerializerOptions,
            RequestTimeout = sidecar.Value.ActorCallTimeout,
        },
        connections.ActorCalls);

    /// <param name="method">The <see cref="IProductActor"/> method that takes the command.</param>
    public async Task<CommandReply> SendAsync<TCommand>(
        HttpContext http,
        Guid productId,
        IdempotencyRequest? idempotency,
        string method,
        TCommand command,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (idempotency is not null && await idempotencyKeys.FindAsync(idempotency, cancellationToken) is { } first)
        {
            return Replay(http, first, idempotency);
        }

        var context = new CommandContext(Guid.CreateVersion7(), CorrelationId(http), idempotency);
        var actor = proxies.Create(new ActorId(productId.ToString("D")), nameof(ProductActor));
        CommandResult result;
        try
        {
            result = await actor.InvokeMethodAsync<ActorCall<TCommand>, CommandResult>(method, new ActorCall<TCommand>(command, context), cancellationToken);
        }
        catch (TaskCanceledException ex) when (ex.InnerException is TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            // HttpClient's timeout, the call's deadline: the turn may still run (or have run), so the outcome is unknown.
            CommandOutcomeFilter.SetOutcome(http, "timed-out");
            return new CommandReply(null, Problems.ActorCallTimedOut(sidecar.Value.ActorCallTimeout, idempotency is not null));
        }

        switch (result.Outcome)
        {
            case CommandOutcome.Accepted:
                return new CommandReply(CommandAccepted.For(productId, result.Version).WriteHeaders(http.Response), null);
            case CommandOutcome.Unchanged:
                CommandOutcomeFilter.SetOutcome(http, "unchanged");
                return new CommandReply(CommandAccepted.For(productId, result.Version).WriteHeaders(http.Response), null);
            case CommandOutcome.NotFound:
                return new CommandReply(null, Problems.NotFound(result.Detail));
            case CommandOutcome.Conflict:
                return new CommandReply(null, Problems.Conflict(result.Code ?? ProblemCodes.Conflict, result.Detail));
            case CommandOutcome.PreconditionFailed:
                return new CommandReply(null, Problems.PreconditionFailed(result.Detail));
            case CommandOutcome.IdempotencyKeyTaken when idempotency is not null
                && await idempotencyKeys.FindAsync(idempotency, cancellationToken) is { } winner:
                return Replay(http, winner, idempotency);
            default:
                throw new UnreachableException($"Unexpected actor outcome {result.Outcome} ({result.Code}).");
        }
    }

    private static CommandReply Replay(HttpContext http, IdempotencyRecord first, IdempotencyRequest request)
    {
        if (IdempotencyKeys.Replay(first, request, http) is { } body)
        {
            CommandOutcomeFilter.SetOutcome(http, "replayed");
            return new CommandReply(body, null);
        }

        return new CommandReply(null, Problems.IdempotencyKeyReused());
    }

    /// <summary>The client's <c>X-Correlation-Id</c> when it is sane, else the trace id.</summary>
    private static string CorrelationId(HttpContext http)
    {
        var header = http.Request.Headers[CorrelationHeader].ToString();
        if (header.Length is > 0 and <= 128 && !header.Any(char.IsControl))
        {
            return header;
        }

        return Activity.Current?.TraceId.ToHexString() ?? http.TraceIdentifier;
    }
}
