using System.Diagnostics;
using System.Text.Json;
using CqrsDapr.CommandService.Idempotency;
using CqrsDapr.CommandService.Outbox;
using CqrsDapr.CommandService.Persistence;
using CqrsDapr.Contracts;
using CqrsDapr.Contracts.Products;
using Dapr.Actors;
using Dapr.Actors.Runtime;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CqrsDapr.CommandService.Products;

/// <summary>The write model of one product (actor id = product id), called through the Dapr sidecar.</summary>
public interface IProductActor : IActor
{
    Task<CommandResult> CreateAsync(ActorCall<CreateProduct> request);

    Task<CommandResult> UpdateAsync(ActorCall<UpdateProduct> request);

    Task<CommandResult> AdjustStockAsync(ActorCall<AdjustProductStock> request);

    Task<CommandResult> DeleteAsync(ActorCall<DeleteProduct> request);
}

/// <summary>
/// One turn = one command: a fresh <see cref="WriteDbContext"/>, one transaction in which the product is loaded,
/// <see cref="ProductDecisions"/> decides, and the new state, its outbox row and the idempotency record are saved
/// together; once committed, its event is handed to the dispatch (<see cref="ICommittedEvents"/>), which publishes it
/// without the turn waiting. Dapr runs one turn at a time per product across the cluster; the <see cref="Product.Version"/>
/// concurrency token catches anyone writing below the actor, and the turn then starts over on fresh state.
/// No database state lives between turns.
/// </summary>
internal sealed partial class ProductActor(
    ActorHost host,
    IDbContextFactory<WriteDbContext> databases,
    IOptions<IdempotencyOptions> idempotencyOptions,
    ICommittedEvents committedEvents,
    TimeProvider clock,
    ILogger<ProductActor> logger)
    : Actor(host), IProductActor
{
    /// <summary>Turns that lose a race to a writer below the actor start over this many times before answering 409.</summary>
    private const int MaxAttempts = 3;

    private const string IdempotencyPrimaryKey = "pk_idempotency_records";

    public Task<CommandResult> CreateAsync(ActorCall<CreateProduct> request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var command = request.Command;
        return TurnAsync(command.Id, request.Context, (current, now) => ProductDecisions.Decide(current, command, now), isCreate: true);
    }

    public Task<CommandResult> UpdateAsync(ActorCall<UpdateProduct> request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var command = request.Command;
        return TurnAsync(command.Id, request.Context, (current, _) => ProductDecisions.Decide(current, command));
    }

    public Task<CommandResult> AdjustStockAsync(ActorCall<AdjustProductStock> request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var command = request.Command;
        return TurnAsync(command.Id, request.Context, (current, _) => ProductDecisions.Decide(current, command));
    }

    public Task<CommandResult> DeleteAsync(ActorCall<DeleteProduct> request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var command = request.Command;
        return TurnAsync(command.Id, request.Context, (current, _) => ProductDecisions.Decide(current, command));
    }

    /// <remarks>
    /// A create's product id is new (the endpoint draws it for each request), so its first attempt does not read the
    /// product: it decides on "no product" and inserts. If the id or anything unique was already there after all (a
    /// replayed actor call, a taken SKU or idempotency key), the insert fails on a unique index, that attempt is
    /// rolled back whole, and the turn starts over the usual way: read, then decide. One statement less per create,
    /// and never a different answer.
    /// </remarks>
    private async Task<CommandResult> TurnAsync(
        Guid productId, CommandContext context, Func<Product?, DateTimeOffset, Decision> decide, bool isCreate = false)
    {
        if (productId.ToString("D") != Id.GetId())
        {
            throw new InvalidOperationException($"Product {productId} sent to actor {Id.GetId()}.");
        }

        var read = !isCreate;
        for (var attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            await using var db = await databases.CreateDbContextAsync();
            // A failed save abandons the whole transaction (and the turn starts over), so EF Core's savepoint around
            // SaveChanges would only cost two statements per command (+6 % turns/s, CommandService.Benchmarks).
            db.Database.AutoSavepointsEnabled = false;
            await using var transaction = await db.Database.BeginTransactionAsync();
            var current = read ? await db.Products.SingleOrDefaultAsync(p => p.Id == productId) : null;
            // PostgreSQL keeps microseconds: the time in the events must be the time stored, to the tick.
            var utc = clock.GetUtcNow();
            var now = utc.AddTicks(-(utc.Ticks % TimeSpan.TicksPerMicrosecond));
            var decision = decide(current, now);
            if (decision.Outcome != DecisionOutcome.Accepted)
            {
                return CommandResult.From(decision); // nothing written: the transaction is rolled back on dispose
            }

            var product = ProductDecisions.Apply(current, decision.Event!, now);
            if (current is null)
            {
                db.Products.Add(product);
            }

            var row = OutboxRow(decision.Event!, productId, decision.Version, now, context);
            db.Outbox.Add(row);
            if (context.Idempotency is { } idempotency)
            {
                // An expired record with this key may not be swept yet: the key counts as new (the caller found no
                // live record), so the old row goes in this transaction instead of failing the insert on the primary
                // key. A live record is kept, and the insert then fails as "taken" below. Two requests racing on one
                // expired key: the second's delete waits for the first's lock and finds the row gone, and its insert
                // fails as "taken" on the first one's new record, which the caller replays.
                var expiredBefore = idempotencyOptions.Value.ExpiredBefore(now);
                await db.IdempotencyRecords.Where(r => r.Key == idempotency.Key && r.CreatedAt < expiredBefore).ExecuteDeleteAsync();
                db.IdempotencyRecords.Add(idempotency.Record(productId, decision.Version, now));
            }

            try
            {
                await db.SaveChangesAsync();
                await transaction.CommitAsync();
                committedEvents.Committed([row]); // published now, not when the relay next looks
                return CommandResult.Accepted(decision.Version);
            }
            catch (DbUpdateConcurrencyException)
            {
                LogConcurrentWrite(logger, productId, attempt);
            }
            catch (DbUpdateException e) when (!read && e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
            {
                read = true; // the unread create met an existing row: decide again on what is stored
            }
            catch (DbUpdateException e) when (e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } unique)
            {
                if (unique.ConstraintName == ProductRules.SkuUniqueIndex)
                {
                    return CommandResult.Rejected(CommandOutcome.Conflict, ProblemCodes.DuplicateSku, "A live product already has this SKU.");
                }

                if (unique.ConstraintName == IdempotencyPrimaryKey)
                {
                    // Another request with the same key committed first; the caller answers with that request's response.
                    return CommandResult.Rejected(CommandOutcome.IdempotencyKeyTaken, "idempotency-key-taken", null);
                }

                throw;
            }
        }

        return CommandResult.Rejected(CommandOutcome.Conflict, ProblemCodes.ConcurrentModification,
            "The product kept changing underneath the command; retry.");
    }

    private static OutboxMessage OutboxRow(IIntegrationEvent @event, Guid productId, long version, DateTimeOffset now, CommandContext context)
    {
        var id = productId.ToString("D");
        var causation = context.CommandId.ToString("D");
        return @event switch
        {
            ProductCreated e => OutboxMessage.For(e, id, version, now, context.CorrelationId, causation),
            ProductUpdated e => OutboxMessage.For(e, id, version, now, context.CorrelationId, causation),
            ProductStockAdjusted e => OutboxMessage.For(e, id, version, now, context.CorrelationId, causation),
            ProductDeleted e => OutboxMessage.For(e, id, version, now, context.CorrelationId, causation),
            _ => throw new UnreachableException($"No outbox mapping for {@event.GetType().Name}."),
        };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Product {ProductId} was written below its actor; turn attempt {Attempt} starts over")]
    private static partial void LogConcurrentWrite(ILogger logger, Guid productId, int attempt);
}

/// <summary>A command as it travels to the actor (JSON), with its context.</summary>
public sealed record ActorCall<TCommand>(TCommand Command, CommandContext Context);

/// <summary>
/// Who asked: <see cref="CommandId"/> becomes the events' causation id, <see cref="CorrelationId"/> is the request's
/// (<c>X-Correlation-Id</c> or the trace id); <see cref="Idempotency"/> is set when the request carried a key.
/// </summary>
public sealed record CommandContext(Guid CommandId, string? CorrelationId, IdempotencyRequest? Idempotency);

/// <summary>What to store for an <c>Idempotency-Key</c> if the command is accepted: the response a retry gets back.</summary>
public sealed record IdempotencyRequest(string Key, string Fingerprint, int StatusCode, string? Location)
{
    internal IdempotencyRecord Record(Guid productId, long version, DateTimeOffset now)
    {
        var accepted = CommandAccepted.For(productId, version);
        return new IdempotencyRecord
        {
            Key = Key,
            RequestFingerprint = Fingerprint,
            StatusCode = StatusCode,
            ResponseBody = JsonSerializer.Serialize(accepted, CommandAccepted.JsonOptions),
            Location = Location,
            ETag = accepted.ETag,
            ConsistencyToken = accepted.ConsistencyToken,
            CreatedAt = now,
        };
    }
}

public enum CommandOutcome
{
    Accepted,
    Unchanged,
    NotFound,
    Conflict,
    PreconditionFailed,
    IdempotencyKeyTaken,
}

/// <summary>The actor's answer: an outcome, the product's version after the command, and a reason when rejected.</summary>
public sealed record CommandResult(CommandOutcome Outcome, long Version, string? Code, string? Detail)
{
    public static CommandResult Accepted(long version) => new(CommandOutcome.Accepted, version, null, null);

    public static CommandResult Rejected(CommandOutcome outcome, string code, string? detail) => new(outcome, 0, code, detail);

    internal static CommandResult From(Decision decision) => decision.Outcome switch
    {
        DecisionOutcome.Accepted => Accepted(decision.Version),
        DecisionOutcome.Unchanged => new(CommandOutcome.Unchanged, decision.Version, null, null),
        DecisionOutcome.NotFound => new(CommandOutcome.NotFound, 0, decision.Code, decision.Detail),
        DecisionOutcome.Conflict => new(CommandOutcome.Conflict, 0, decision.Code, decision.Detail),
        DecisionOutcome.PreconditionFailed => new(CommandOutcome.PreconditionFailed, decision.Version, decision.Code, decision.Detail),
        _ => throw new UnreachableException(),
    };
}
