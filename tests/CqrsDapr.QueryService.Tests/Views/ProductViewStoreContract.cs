using CqrsDapr.Contracts.Products;
using CqrsDapr.QueryService.Products;
using CqrsDapr.QueryService.Views;

namespace CqrsDapr.QueryService.Tests.Views;

/// <summary>
/// What every <see cref="IProductViewStore"/> must do (the Dapr state store now, Cosmos DB later): first-write-wins
/// saves, tombstones never listed, filters, every sort order, and keyset paging that walks each item exactly once
/// while others are written between pages. Each test works in its own category, so tests share one store.
/// </summary>
public abstract class ProductViewStoreContract
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private protected abstract IProductViewStore Store { get; }

    /// <summary>The same store's generation <paramref name="generation"/> (<see cref="Store"/> is generation 1).</summary>
    private protected abstract IProductViewStore StoreOf(int generation);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private protected static ProductView AView(string category, string name = "Desk", decimal price = 10m, int minute = 0) =>
        ProductViewKeys.WithKeys(new ProductView
        {
            Id = Guid.CreateVersion7(),
            Sku = "SKU-" + Guid.NewGuid().ToString("N")[..8],
            Name = name,
            Description = "A " + name,
            Category = category,
            Price = new Money(price, "EUR"),
            Stock = 5,
            Version = 1,
            CreatedAt = T0,
            UpdatedAt = T0.AddMinutes(minute),
        });

    private static string ACategory() => "c-" + Guid.NewGuid().ToString("N")[..12];

    private async Task<ProductView> Inserted(ProductView view)
    {
        Assert.True(await Store.TrySaveAsync(view, null, Ct));
        return view;
    }

    private static ProductQuery AllOf(string category, ProductSort sort = ProductSort.Name, int pageSize = 100, decimal? min = null, decimal? max = null) =>
        new(category, min, max, sort, pageSize, null);

    [Fact]
    public async Task Getting_a_view_that_was_never_saved_returns_null() =>
        Assert.Null(await Store.GetAsync(Guid.NewGuid(), Ct));

    [Fact]
    public async Task A_first_save_without_an_etag_inserts_and_the_view_reads_back_with_an_etag()
    {
        var view = await Inserted(AView(ACategory()));

        var stored = await Store.GetAsync(view.Id, Ct);

        Assert.NotNull(stored);
        Assert.Equal(view, stored.View);
        Assert.False(string.IsNullOrEmpty(stored.ETag));
    }

    [Fact]
    public async Task A_second_insert_of_the_same_view_is_refused_and_keeps_the_first()
    {
        var first = await Inserted(AView(ACategory()));

        var again = await Store.TrySaveAsync(first with { Name = "Other", Version = 2 }, null, Ct);

        Assert.False(again);
        Assert.Equal(first, (await Store.GetAsync(first.Id, Ct))!.View);
    }

    [Fact]
    public async Task An_update_with_the_current_etag_wins_and_one_with_a_stale_etag_loses()
    {
        var view = await Inserted(AView(ACategory()));
        var read = (await Store.GetAsync(view.Id, Ct))!;

        Assert.True(await Store.TrySaveAsync(read.View with { Stock = 7, Version = 2 }, read.ETag, Ct));
        Assert.False(await Store.TrySaveAsync(read.View with { Stock = 9, Version = 2 }, read.ETag, Ct));

        var now = (await Store.GetAsync(view.Id, Ct))!;
        Assert.Equal(7, now.View.Stock);
        Assert.NotEqual(read.ETag, now.ETag);
    }

    [Fact]
    public async Task Tombstones_are_kept_for_get_but_never_listed()
    {
        var category = ACategory();
        var live = await Inserted(AView(category, "Live"));
        var gone = await Inserted(AView(category, "Gone"));
        var read = (await Store.GetAsync(gone.Id, Ct))!;
        Assert.True(await Store.TrySaveAsync(read.View with { Deleted = true, Version = 2 }, read.ETag, Ct));

        var page = await Store.QueryAsync(AllOf(category), Ct);

        Assert.Equal([live.Id], page.Items.Select(v => v.Id));
        Assert.True((await Store.GetAsync(gone.Id, Ct))!.View.Deleted);
    }

    [Fact]
    public async Task Category_and_price_range_filters_keep_only_matching_views_bounds_included()
    {
        var category = ACategory();
        var cheap = await Inserted(AView(category, "Cheap", 9.99m));
        var low = await Inserted(AView(category, "Low", 10m));
        var mid = await Inserted(AView(category, "Mid", 100m));
        var high = await Inserted(AView(category, "High", 1000m));
        var pricey = await Inserted(AView(category, "Pricey", 1000.0001m));
        await Inserted(AView(ACategory(), "Elsewhere", 100m));

        var all = await Store.QueryAsync(AllOf(category, ProductSort.Price), Ct);
        var ranged = await Store.QueryAsync(AllOf(category, ProductSort.Name, min: 10m, max: 1000m), Ct);
        var atLeast = await Store.QueryAsync(AllOf(category, ProductSort.PriceDescending, min: 100m), Ct);
        var atMost = await Store.QueryAsync(AllOf(category, ProductSort.Price, max: 10m), Ct);

        Assert.Equal([cheap.Id, low.Id, mid.Id, high.Id, pricey.Id], all.Items.Select(v => v.Id));
        Assert.Equal([high.Id, low.Id, mid.Id], ranged.Items.Select(v => v.Id)); // by name
        Assert.Equal([pricey.Id, high.Id, mid.Id], atLeast.Items.Select(v => v.Id));
        Assert.Equal([cheap.Id, low.Id], atMost.Items.Select(v => v.Id));
    }

    [Theory]
    [InlineData("Name")]
    [InlineData("NameDescending")]
    [InlineData("Price")]
    [InlineData("PriceDescending")]
    [InlineData("UpdatedAt")]
    [InlineData("UpdatedAtDescending")]
    public async Task Each_sort_order_lists_views_in_that_order_with_ties_broken_by_id(string sortName)
    {
        var sort = Enum.Parse<ProductSort>(sortName);
        var category = ACategory();
        // Prices and names chosen so text order of the raw values would be wrong (9 > 10 as text, "b" > "B").
        var views = new List<ProductView>
        {
            await Inserted(AView(category, "banana", 9m, minute: 50)),
            await Inserted(AView(category, "Apple", 10m, minute: 3)),
            await Inserted(AView(category, "apple pie", 100.5m, minute: 20)),
            await Inserted(AView(category, "Cherry", 2m, minute: 9)),
            await Inserted(AView(category, "cherry", 2m, minute: 9)), // tie on every key: id decides
        };

        var page = await Store.QueryAsync(AllOf(category, sort), Ct);

        Func<ProductView, IComparable> key = sort switch
        {
            ProductSort.Name or ProductSort.NameDescending => v => v.Name.ToLowerInvariant(),
            ProductSort.Price or ProductSort.PriceDescending => v => v.Price.Amount,
            _ => v => v.UpdatedAt,
        };
        var descending = sort is ProductSort.NameDescending or ProductSort.PriceDescending or ProductSort.UpdatedAtDescending;
        var expected = descending
            ? views.OrderByDescending(key).ThenByDescending(v => v.Id.ToString("D"), StringComparer.Ordinal)
            : views.OrderBy(key).ThenBy(v => v.Id.ToString("D"), StringComparer.Ordinal);
        Assert.Equal(expected.Select(v => v.Id), page.Items.Select(v => v.Id));
        Assert.Null(page.NextPageToken);
    }

    [Theory]
    [InlineData("Name")]
    [InlineData("PriceDescending")]
    [InlineData("UpdatedAt")]
    public async Task Paging_walks_every_view_exactly_once_while_others_are_inserted_and_deleted_between_pages(string sortName)
    {
        var sort = Enum.Parse<ProductSort>(sortName);
        var category = ACategory();
        var original = new List<ProductView>();
        for (var i = 0; i < 23; i++)
        {
            original.Add(await Inserted(AView(category, $"item {i * 7 % 23:D2}", 1m + (i * 13 % 23), minute: i * 5 % 23)));
        }

        var seen = new List<Guid>();
        var deleted = new HashSet<Guid>();
        var query = AllOf(category, sort, pageSize: 4);
        var pages = 0;
        do
        {
            var page = await Store.QueryAsync(query, Ct);
            seen.AddRange(page.Items.Select(v => v.Id));
            query = query with { PageToken = page.NextPageToken };
            Assert.True(++pages < 40, "paging does not end");

            // Between pages: new views on both sides of the position, and the views just listed deleted, so the rows
            // after the position move back by more than a store could absorb by resuming at an offset.
            await Inserted(AView(category, "aaa " + pages, 0.5m, minute: -pages));
            await Inserted(AView(category, "zzz " + pages, 5000m + pages, minute: 100 + pages));
            foreach (var listed in page.Items.Where(v => deleted.Add(v.Id)))
            {
                var read = (await Store.GetAsync(listed.Id, Ct))!;
                Assert.True(await Store.TrySaveAsync(read.View with { Deleted = true, Version = 2 }, read.ETag, Ct));
            }
        }
        while (query.PageToken is not null);

        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.All(original, v => Assert.Contains(v.Id, seen));
    }

    [Fact]
    public async Task A_page_holds_at_most_the_page_size_and_the_last_page_has_no_token()
    {
        var category = ACategory();
        for (var i = 0; i < 5; i++)
        {
            await Inserted(AView(category, $"n{i}"));
        }

        var first = await Store.QueryAsync(AllOf(category, pageSize: 3), Ct);
        var second = await Store.QueryAsync(AllOf(category, pageSize: 3) with { PageToken = first.NextPageToken }, Ct);
        var exact = await Store.QueryAsync(AllOf(category, pageSize: 5), Ct);

        Assert.Equal(3, first.Items.Count);
        Assert.NotNull(first.NextPageToken);
        Assert.Equal(2, second.Items.Count);
        Assert.Null(second.NextPageToken);
        Assert.Equal(5, exact.Items.Count);
        Assert.Null(exact.NextPageToken);
    }

    [Fact]
    public async Task Many_views_read_in_one_call_leave_out_the_missing_ones()
    {
        var category = ACategory();
        var first = await Inserted(AView(category, "a"));
        var second = await Inserted(AView(category, "b"));

        var found = await Store.GetManyAsync([first.Id, Guid.NewGuid(), second.Id], Ct);

        Assert.Equal([first.Id, second.Id], found.Keys.Order());
        Assert.Equal(first, found[first.Id].View);
        Assert.Equal((await Store.GetAsync(second.Id, Ct))!.ETag, found[second.Id].ETag);
    }

    [Fact]
    public async Task A_bulk_save_inserts_and_updates_with_etags_and_reports_a_lost_race()
    {
        var category = ACategory();
        var existing = await Inserted(AView(category, "old"));
        var etag = (await Store.GetAsync(existing.Id, Ct))!.ETag;
        var fresh = AView(category, "new");

        Assert.True(await Store.TrySaveManyAsync([(existing with { Version = 2, Stock = 9 }, etag), (fresh, null)], Ct));
        Assert.Equal(9, (await Store.GetAsync(existing.Id, Ct))!.View.Stock);
        Assert.NotNull(await Store.GetAsync(fresh.Id, Ct));

        // The old ETag is stale now, and the fresh view exists: both saves lose.
        Assert.False(await Store.TrySaveManyAsync([(existing with { Version = 3 }, etag)], Ct));
        Assert.False(await Store.TrySaveManyAsync([(fresh with { Version = 2 }, null)], Ct));
        Assert.Equal(2, (await Store.GetAsync(existing.Id, Ct))!.View.Version);
        Assert.Equal(1, (await Store.GetAsync(fresh.Id, Ct))!.View.Version);
    }

    [Fact]
    public async Task Generations_are_separate_stores_for_reads_queries_and_saves()
    {
        var category = ACategory();
        var next = StoreOf(2);
        var inFirst = await Inserted(AView(category, "first"));
        var inSecond = AView(category, "second");
        Assert.True(await next.TrySaveAsync(inSecond, null, Ct));
        Assert.True(await next.TrySaveAsync(inFirst with { Name = "first, rebuilt" }, null, Ct)); // same id, its own document

        Assert.Null(await Store.GetAsync(inSecond.Id, Ct));
        Assert.Equal("first", (await Store.GetAsync(inFirst.Id, Ct))!.View.Name);
        Assert.Equal("first, rebuilt", (await next.GetAsync(inFirst.Id, Ct))!.View.Name);
        Assert.Equal([inFirst.Id], (await Store.QueryAsync(AllOf(category), Ct)).Items.Select(v => v.Id));
        Assert.Equal([inFirst.Id, inSecond.Id], (await next.QueryAsync(AllOf(category), Ct)).Items.Select(v => v.Id).Order());
    }

    [Fact]
    public async Task Ten_thousand_views_save_and_read_in_bulk_past_the_sidecars_4_MB_message_limits()
    {
        var category = ACategory();
        var views = Enumerable.Range(0, 10_000).Select(i => AView(category, $"bulk {i} " + new string('x', 300))).ToList(); // ~7 MB of JSON

        Assert.True(await Store.TrySaveManyAsync([.. views.Select(v => (v, (string?)null))], Ct));
        var found = await Store.GetManyAsync([.. views.Select(v => v.Id)], Ct);

        Assert.Equal(views.Count, found.Count);
        Assert.All(views, v => Assert.Equal(v, found[v.Id].View));
    }

    [Fact]
    public async Task Deleting_a_generation_removes_all_its_documents_and_nothing_of_another()
    {
        var category = ACategory();
        var retired = StoreOf(7);
        var kept = StoreOf(8);
        var views = Enumerable.Range(0, 1_200).Select(i => AView(category, $"r{i}")).ToList(); // more than one query page
        var tombstone = AView(category, "gone") with { Deleted = true, Version = 3 };
        Assert.True(await retired.TrySaveManyAsync([.. views.Append(tombstone).Select(v => (v, (string?)null))], Ct));
        var other = AView(category, "stays");
        Assert.True(await kept.TrySaveAsync(other, null, Ct));

        Assert.Equal(1_201, await retired.DeleteAllAsync(Ct));

        Assert.Empty(await retired.GetManyAsync([.. views.Select(v => v.Id), tombstone.Id], Ct));
        Assert.NotNull(await kept.GetAsync(other.Id, Ct));
        Assert.Equal(0, await retired.DeleteAllAsync(Ct));
    }
}
