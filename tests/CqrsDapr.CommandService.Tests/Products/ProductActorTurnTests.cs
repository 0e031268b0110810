using System.Collections.Concurrent;
using System.Data.Common;
using CqrsDapr.CommandService.Idempotency;
using CqrsDapr.CommandService.Persistence;
using CqrsDapr.CommandService.Products;
using CqrsDapr.CommandService.Tests.Infrastructure;
using CqrsDapr.CommandService.Tests.Outbox;
using CqrsDapr.Contracts.Products;
using Dapr.Actors;
using Dapr.Actors.Runtime;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CqrsDapr.CommandService.Tests.Products;

/// <summary>
/// The actor's turn against a real database, without a sidecar: what happens when someone writes the product below
/// the actor between the turn's load and its save.
/// </summary>
public sealed class ProductActorTurnTests(WriteDatabaseServer server)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static CommandContext Context() => new(Guid.NewGuid(), "corr", null);

    private static ProductActor ActorFor(Guid id, IDbContextFactory<WriteDbContext> databases) =>
        new(ActorHost.CreateForTest<ProductActor>(new ActorTestOptions { ActorId = new ActorId(id.ToString("D")) }),
            databases, Options.Create(new IdempotencyOptions()), new RecordingCommittedEvents(), TimeProvider.System, NullLogger<ProductActor>.Instance);

    [Fact]
    public async Task A_write_below_the_actor_during_a_turn_makes_the_turn_start_over_on_the_new_state_and_nothing_is_lost()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        var id = Guid.NewGuid();
        var databases = new RacingFactory(connectionString, racesLeft: 1, async connection =>
        {
            // Another writer commits version 2 (stock 100) after the turn loaded version 1.
            await using var write = new NpgsqlCommand("UPDATE products SET stock = 100, version = 2 WHERE id = @id", (NpgsqlConnection)connection);
            write.Parameters.AddWithValue("id", id);
            await write.ExecuteNonQueryAsync(Ct);
        });
        var actor = ActorFor(id, databases);
        var created = await actor.CreateAsync(new ActorCall<CreateProduct>(
            new CreateProduct(id, new NewProduct("RACE-1", "n", null, "c", new Money(1, "EUR"), 5)), Context()));
        Assert.Equal(CommandOutcome.Accepted, created.Outcome);

        databases.Armed = true;
        var result = await actor.AdjustStockAsync(new ActorCall<AdjustProductStock>(new AdjustProductStock(id, 1, "restock", null), Context()));

        Assert.Equal(0, databases.RacesLeft); // the race really happened
        Assert.Equal(new CommandResult(CommandOutcome.Accepted, 3, null, null), result);
        await using var db = WriteDatabaseServer.CreateContext(connectionString);
        var product = await db.Products.SingleAsync(p => p.Id == id, Ct);
        Assert.Equal((101, 3L), (product.Stock, product.Version));
        Assert.Equal([1L, 3L], await db.Outbox.OrderBy(m => m.AggregateVersion).Select(m => m.AggregateVersion).ToListAsync(Ct));
    }

    [Fact]
    public async Task A_write_below_the_actor_that_invalidates_if_match_turns_the_retry_into_a_precondition_failure()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        var id = Guid.NewGuid();
        var databases = new RacingFactory(connectionString, racesLeft: 1, async connection =>
        {
            await using var write = new NpgsqlCommand("UPDATE products SET version = 2 WHERE id = @id", (NpgsqlConnection)connection);
            write.Parameters.AddWithValue("id", id);
            await write.ExecuteNonQueryAsync(Ct);
        });
        var actor = ActorFor(id, databases);
        await actor.CreateAsync(new ActorCall<CreateProduct>(
            new CreateProduct(id, new NewProduct("RACE-2", "n", null, "c", new Money(1, "EUR"), 5)), Context()));

        databases.Armed = true;
        var result = await actor.DeleteAsync(new ActorCall<DeleteProduct>(new DeleteProduct(id, ExpectedVersion: 1), Context()));

        Assert.Equal(CommandOutcome.PreconditionFailed, result.Outcome);
        await using var db = WriteDatabaseServer.CreateContext(connectionString);
        Assert.False((await db.Products.SingleAsync(p => p.Id == id, Ct)).IsDeleted);
        Assert.Equal(1, await db.Outbox.CountAsync(Ct));
    }

    [Fact]
    public async Task A_create_inserts_without_reading_the_product_first()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        var id = Guid.NewGuid();
        var databases = new RecordingFactory(connectionString);

        var created = await ActorFor(id, databases).CreateAsync(Create(id, "NEW-1"));

        Assert.Equal(CommandOutcome.Accepted, created.Outcome);
        Assert.DoesNotContain(databases.Commands, c => c.Contains("FROM products", StringComparison.Ordinal));
        Assert.Contains(databases.Commands, c => c.Contains("INSERT INTO products", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_create_replayed_for_an_existing_product_reads_it_and_answers_product_exists_with_nothing_written()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        var id = Guid.NewGuid();
        var databases = new RecordingFactory(connectionString);
        var actor = ActorFor(id, databases);
        Assert.Equal(CommandOutcome.Accepted, (await actor.CreateAsync(Create(id, "AGAIN-1"))).Outcome);

        // The same call again (a sidecar retry after a lost answer), and one with another SKU for the same id.
        var replayed = await actor.CreateAsync(Create(id, "AGAIN-1"));
        var otherSku = await actor.CreateAsync(Create(id, "AGAIN-2"));

        Assert.Equal((CommandOutcome.Conflict, "product-exists"), (replayed.Outcome, replayed.Code));
        Assert.Equal((CommandOutcome.Conflict, "product-exists"), (otherSku.Outcome, otherSku.Code));
        Assert.Contains(databases.Commands, c => c.Contains("FROM products", StringComparison.Ordinal)); // the fallback read
        await using var db = WriteDatabaseServer.CreateContext(connectionString);
        var stored = await db.Products.SingleAsync(p => p.Id == id, Ct);
        Assert.Equal(("AGAIN-1", 1L), (stored.Sku, stored.Version));
        Assert.Equal(1, await db.Outbox.CountAsync(Ct));
    }

    [Fact]
    public async Task A_create_whose_sku_another_live_product_has_answers_duplicate_sku_with_nothing_written()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        var databases = new RecordingFactory(connectionString);
        var first = Guid.NewGuid();
        var second = Guid.NewGuid();
        Assert.Equal(CommandOutcome.Accepted, (await ActorFor(first, databases).CreateAsync(Create(first, "TAKEN-1"))).Outcome);

        var result = await ActorFor(second, databases).CreateAsync(Create(second, "TAKEN-1"));

        Assert.Equal((CommandOutcome.Conflict, "duplicate-sku"), (result.Outcome, result.Code));
        await using var db = WriteDatabaseServer.CreateContext(connectionString);
        Assert.False(await db.Products.AnyAsync(p => p.Id == second, Ct));
        Assert.Equal(1, await db.Outbox.CountAsync(Ct));
    }

    [Fact]
    public async Task An_accepted_turn_hands_its_committed_row_to_the_dispatch_and_a_rejected_one_hands_nothing()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        var id = Guid.NewGuid();
        var committed = new RecordingCommittedEvents();
        var actor = new ProductActor(
            ActorHost.CreateForTest<ProductActor>(new ActorTestOptions { ActorId = new ActorId(id.ToString("D")) }),
            new RecordingFactory(connectionString), Options.Create(new IdempotencyOptions()), committed, TimeProvider.System, NullLogger<ProductActor>.Instance);

        Assert.Equal(CommandOutcome.Accepted, (await actor.CreateAsync(Create(id, "HANDED-1"))).Outcome);
        Assert.Equal(CommandOutcome.Conflict, (await actor.CreateAsync(Create(id, "HANDED-1"))).Outcome);

        var row = Assert.Single(committed.Rows);
        await using var db = WriteDatabaseServer.CreateContext(connectionString);
        var stored = await db.Outbox.SingleAsync(Ct); // committed, with the sequence the dispatch was given
        Assert.Equal((stored.Sequence, stored.EventId, id.ToString("D")), (row.Sequence, row.EventId, row.AggregateId));
    }

    private static ActorCall<CreateProduct> Create(Guid id, string sku) =>
        new(new CreateProduct(id, new NewProduct(sku, "n", null, "c", new Money(1, "EUR"), 5)), Context());

    /// <summary>Contexts that record the text of every command they send.</summary>
    private sealed class RecordingFactory(string connectionString) : IDbContextFactory<WriteDbContext>
    {
        private readonly ConcurrentQueue<string> commands = new();

        public IReadOnlyCollection<string> Commands => commands;

        public WriteDbContext CreateDbContext()
        {
            var options = new DbContextOptionsBuilder<WriteDbContext>();
            PersistenceModule.Configure(options, connectionString);
            options.AddInterceptors(new Recorder(commands));
            return new WriteDbContext(options.Options);
        }

        private sealed class Recorder(ConcurrentQueue<string> commands) : DbCommandInterceptor
        {
            public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
                DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
            {
                commands.Enqueue(command.CommandText);
                return ValueTask.FromResult(result);
            }

            public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(
                DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
            {
                commands.Enqueue(command.CommandText);
                return ValueTask.FromResult(result);
            }
        }
    }

    /// <summary>Contexts whose first save(s), once armed, are preceded by another writer's committed update.</summary>
    private sealed class RacingFactory(string connectionString, int racesLeft, Func<DbConnection, Task> race) : IDbContextFactory<WriteDbContext>
    {
        private int remaining = racesLeft;

        public bool Armed { get; set; }

        public int RacesLeft => remaining;

        public WriteDbContext CreateDbContext()
        {
            var options = new DbContextOptionsBuilder<WriteDbContext>();
            PersistenceModule.Configure(options, connectionString);
            options.AddInterceptors(new RaceBeforeSave(this));
            return new WriteDbContext(options.Options);
        }

        private async Task RaceAsync(CancellationToken cancellationToken)
        {
            await using var other = new NpgsqlConnection(connectionString);
            await other.OpenAsync(cancellationToken);
            await race(other);
        }

        private sealed class RaceBeforeSave(RacingFactory factory) : SaveChangesInterceptor
        {
            public override async ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
            {
                if (factory.Armed && factory.remaining > 0)
                {
                    factory.remaining--;
                    await factory.RaceAsync(cancellationToken);
                }

                return result;
            }
        }
    }
}
