using System.Diagnostics;
using CqrsDapr.CommandService.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace CqrsDapr.CommandService.Tests.Products;

/// <summary>The whole write path in one service: HTTP command → actor turn → outbox → relay → Dapr publish.</summary>
public sealed class CommandToBrokerTests(CommandServiceHost host) : IClassFixture<CommandServiceHost>
{
    private readonly ProductApi api = new(host);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_event_an_accepted_command_commits_is_published_through_the_sidecar()
    {
        var id = await api.AProductAsync(stock: 5);
        using (var adjusted = await api.AdjustStockAsync(id, -2))
        {
            adjusted.EnsureSuccessStatusCode();
        }

        using (var deleted = await api.DeleteAsync(id))
        {
            deleted.EnsureSuccessStatusCode();
        }

        // The relay marks a row published only after the sidecar accepted the publish.
        var aggregateId = id.ToString("D");
        var clock = Stopwatch.StartNew();
        List<(long Version, DateTimeOffset? PublishedAt, string? Error)> rows;
        do
        {
            await using var db = host.Database();
            rows = (await db.Outbox.Where(m => m.AggregateId == aggregateId).OrderBy(m => m.AggregateVersion)
                .Select(m => new { m.AggregateVersion, m.PublishedAt, m.LastError }).ToListAsync(Ct))
                .Select(m => (m.AggregateVersion, m.PublishedAt, m.LastError)).ToList();
            if (rows.Count == 3 && rows.All(r => r.PublishedAt is not null))
            {
                break;
            }

            await Task.Delay(50, Ct);
        }
        while (clock.Elapsed < TimeSpan.FromSeconds(15));

        Assert.Equal([1L, 2L, 3L], rows.Select(r => r.Version));
        Assert.All(rows, r => Assert.True(r.PublishedAt is not null, $"version {r.Version} unpublished: {r.Error}\n{host.Logs.Tail()}"));
        Assert.DoesNotContain(host.Logs.Lines, line => line.Contains(".Outbox.", StringComparison.Ordinal));
    }
}
