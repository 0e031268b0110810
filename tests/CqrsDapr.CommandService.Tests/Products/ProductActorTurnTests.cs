using System.Data.Common;
using CqrsDapr.CommandService.Idempotency;
using CqrsDapr.CommandService.Persistence;
using CqrsDapr.CommandService.Products;
using CqrsDapr.CommandService.Tests.Infrastructure;
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
            databases, Options.Create(new IdempotencyOptions()), TimeProvider.System, NullLogger<ProductActor>.Instance);

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
