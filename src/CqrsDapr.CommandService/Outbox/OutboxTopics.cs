using CqrsDapr.Contracts;
using CqrsDapr.Contracts.Products;

namespace CqrsDapr.CommandService.Outbox;

/// <summary>Which topic carries an aggregate type's events. One line per aggregate type.</summary>
internal static class OutboxTopics
{
    public static string? For(string aggregateType) => aggregateType switch
    {
        ProductAggregate.Name => Topics.Products,
        _ => null,
    };
}
