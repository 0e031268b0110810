using CqrsDapr.CommandService.Idempotency;
using CqrsDapr.CommandService.Persistence;
using CqrsDapr.CommandService.Products;
using CqrsDapr.CommandService.Tests.Infrastructure;
using CqrsDapr.CommandService.Tests.Outbox;
using CqrsDapr.Contracts.Products;
using Dapr.Actors;
using Dapr.Actors.Runtime;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CqrsDapr.CommandService.Tests.Idempotency;

/// <summary>
/// The actor turn's insert of an idempotency record whose key still has an expired record, not swept yet (the key is
/// the primary key): the new command must go through, a live record must still win.
/// </summary>
public sealed class ExpiredKeyTurnTests(WriteDatabaseServer server)
{
    private static readonly TimeSpan Retention = new IdempotencyOptions().Retention;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_turn_whose_key_has_only_an_expired_record_replaces_it_and_a_live_record_still_makes_the_key_taken()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));
        var key = "POST /api/products " + Guid.NewGuid();
        var first = await CreateAsync(connectionString, clock, key);
        Assert.Equal(CommandOutcome.Accepted, first.Result.Outcome);

        clock.Advance(Retention + TimeSpan.FromSeconds(1));
        var second = await CreateAsync(connectionString, clock, key);

        Assert.Equal(CommandOutcome.Accepted, second.Result.Outcome);
        await using (var db = WriteDatabaseServer.CreateContext(connectionString))
        {
            var record = await db.IdempotencyRecords.SingleAsync(Ct);
            Assert.Equal((key, clock.GetUtcNow(), $"/api/products/{second.Id:D}"), (record.Key, record.CreatedAt, record.Location));
            Assert.Equal(2, await db.Products.CountAsync(Ct));
        }

        clock.Advance(Retention - TimeSpan.FromSeconds(1)); // the replacement is live: it is not deleted for a third request
        var third = await CreateAsync(connectionString, clock, key);

        Assert.Equal(CommandOutcome.IdempotencyKeyTaken, third.Result.Outcome);
        await using (var db = WriteDatabaseServer.CreateContext(connectionString))
        {
            Assert.Equal($"/api/products/{second.Id:D}", (await db.IdempotencyRecords.SingleAsync(Ct)).Location);
            Assert.Equal(2, await db.Products.CountAsync(Ct));
        }
    }

    [Fact]
    public async Task Concurrent_turns_on_one_expired_key_accept_exactly_one_command()
    {
        var connectionString = await server.NewMigratedDatabaseAsync();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));
        for (var round = 0; round < 5; round++)
        {
            var key = "POST /api/products " + Guid.NewGuid();
            Assert.Equal(CommandOutcome.Accepted, (await CreateAsync(connectionString, clock, key)).Result.Outcome);
            clock.Advance(Retention + TimeSpan.FromSeconds(1));

            var racing = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => CreateAsync(connectionString, clock, key)));

            var accepted = Assert.Single(racing, r => r.Result.Outcome == CommandOutcome.Accepted);
            Assert.All(racing.Where(r => r != accepted), r => Assert.Equal(CommandOutcome.IdempotencyKeyTaken, r.Result.Outcome));
            await using var db = WriteDatabaseServer.CreateContext(connectionString);
            Assert.Equal($"/api/products/{accepted.Id:D}", (await db.IdempotencyRecords.SingleAsync(r => r.Key == key, Ct)).Location);
        }
    }

    /// <summary>Creates a new product (its own actor) carrying <paramref name="key"/>, through the actor's turn alone.</summary>
    private static async Task<(Guid Id, CommandResult Result)> CreateAsync(string connectionString, TimeProvider clock, string key)
    {
        var id = Guid.CreateVersion7();
        var command = new CreateProduct(id, new NewProduct("SKU-" + id.ToString("N")[..12], "n", null, "c", new Money(1, "EUR"), 5));
        var idempotency = new IdempotencyRequest(key, "same-request", 201, $"/api/products/{id:D}");
        var actor = new ProductActor(
            ActorHost.CreateForTest<ProductActor>(new ActorTestOptions { ActorId = new ActorId(id.ToString("D")) }),
            new Databases(connectionString),
            Options.Create(new IdempotencyOptions()),
            new RecordingCommittedEvents(),
            clock,
            NullLogger<ProductActor>.Instance);
        return (id, await actor.CreateAsync(new ActorCall<CreateProduct>(command, new CommandContext(Guid.NewGuid(), "corr", idempotency))));
    }

    private sealed class Databases(string connectionString) : IDbContextFactory<WriteDbContext>
    {
        public WriteDbContext CreateDbContext() => WriteDatabaseServer.CreateContext(connectionString);
    }
}
