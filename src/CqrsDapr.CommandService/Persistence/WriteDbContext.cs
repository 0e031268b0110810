using CqrsDapr.CommandService.Idempotency;
using CqrsDapr.CommandService.Outbox;
using CqrsDapr.CommandService.Products;
using Microsoft.EntityFrameworkCore;

namespace CqrsDapr.CommandService.Persistence;

/// <summary>
/// The write database: aggregates, the outbox and idempotency records, always changed together in one transaction.
/// Tables and columns are snake_case. Short-lived: one context per actor turn or relay batch.
/// </summary>
internal sealed class WriteDbContext(DbContextOptions<WriteDbContext> options) : DbContext(options)
{
    public DbSet<Product> Products => Set<Product>();

    public DbSet<OutboxMessage> Outbox => Set<OutboxMessage>();

    public DbSet<IdempotencyRecord> IdempotencyRecords => Set<IdempotencyRecord>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Product>(product =>
        {
            product.ToTable("products");
            product.HasKey(p => p.Id);
            product.Property(p => p.Sku).HasMaxLength(ProductRules.SkuMaxLength);
            product.Property(p => p.Name).HasMaxLength(ProductRules.NameMaxLength);
            product.Property(p => p.Description).HasMaxLength(ProductRules.DescriptionMaxLength);
            product.Property(p => p.Category).HasMaxLength(ProductRules.CategoryMaxLength);
            product.Property(p => p.PriceAmount).HasPrecision(18, 4);
            product.Property(p => p.PriceCurrency).HasMaxLength(3).IsFixedLength();
            product.Property(p => p.Version).IsConcurrencyToken();

            // A SKU names one live product; a deleted product's SKU can be used again.
            product.HasIndex(p => p.Sku).IsUnique().HasFilter("NOT is_deleted").HasDatabaseName(ProductRules.SkuUniqueIndex);
        });

        modelBuilder.Entity<OutboxMessage>(outbox =>
        {
            outbox.ToTable("outbox");
            outbox.HasKey(m => m.Sequence);
            outbox.Property(m => m.Sequence).UseIdentityAlwaysColumn();
            outbox.HasIndex(m => m.EventId).IsUnique();
            outbox.Property(m => m.Payload).HasColumnType("jsonb");
            outbox.Property(m => m.AggregateType).HasMaxLength(64);
            outbox.Property(m => m.AggregateId).HasMaxLength(128);
            outbox.Property(m => m.EventType).HasMaxLength(128);

            // The relay's work queue: only unpublished rows, in sequence order. Stays small however long the log grows.
            outbox.HasIndex(m => m.Sequence).HasFilter("published_at IS NULL").HasDatabaseName("ix_outbox_unpublished");
            outbox.HasIndex(m => new { m.AggregateType, m.AggregateId, m.AggregateVersion });
        });

        modelBuilder.Entity<IdempotencyRecord>(record =>
        {
            record.ToTable("idempotency_records");
            record.HasKey(r => r.Key);
            record.Property(r => r.Key).HasMaxLength(512);
            record.Property(r => r.ResponseBody).HasColumnType("jsonb");
            record.HasIndex(r => r.CreatedAt);
        });
    }
}
