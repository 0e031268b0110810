using System.Diagnostics;
using CqrsDapr.CommandService.Diagnostics;
using CqrsDapr.CommandService.Http;
using CqrsDapr.CommandService.Idempotency;
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
/// otherwise sends the command to the product's actor through the Dapr sidecar (JSON remoting) and turns the actor's
/// answer into a reply. It loads nothing itself; deciding and writing happen in the actor's turn.
/// </summary>
internal sealed class ProductCommandSender(IOptions<ActorRuntimeOptions> runtime, IdempotencyKeys idempotencyKeys)
{
    public const string CorrelationHeader = "X-Correlation-Id";

    private readonly ActorProxyFactory proxies = new(new ActorProxyOptions
    {
        // The same sidecar endpoint and API token the actor runtime was configured with (DAPR_HTTP_ENDPOINT /
        // DAPR_HTTP_PORT / DAPR_API_TOKEN from configuration). The SDK reads the endpoint as a Uri and hands it back
        // with a trailing slash, which the proxy would turn into "//v1.0/actors/...".
        HttpEndpoint = runtime.Value.HttpEndpoint?.TrimEnd('/'),
        DaprApiToken = runtime.Value.DaprApiToken,
        JsonSerializerOptions = runtime.Value.JsonSerializerOptions,
        UseJsonSerialization = true,
    });

    public async Task<CommandReply> SendAsync(
        HttpContext http,
        Guid productId,
        IdempotencyRequest? idempotency,
        Func<IProductActor, CommandContext, Task<CommandResult>> call,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(call);
        if (idempotency is not null && await idempotencyKeys.FindAsync(idempotency, cancellationToken) is { } first)
        {
            return Replay(http, first, idempotency);
        }

        var context = new CommandContext(Guid.CreateVersion7(), CorrelationId(http), idempotency);
        var actor = proxies.CreateActorProxy<IProductActor>(new ActorId(productId.ToString("D")), nameof(ProductActor));
        var result = await call(actor, context);
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
                return new CommandReply(null, Problems.Conflict(result.Code ?? "conflict", result.Detail));
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
