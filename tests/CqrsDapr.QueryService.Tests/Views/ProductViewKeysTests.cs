using CqrsDapr.Contracts.Products;
using CqrsDapr.QueryService.Products;

namespace CqrsDapr.QueryService.Tests.Views;

/// <summary>The view store compares keys as text: text order of the keys must be the order of the values.</summary>
public sealed class ProductViewKeysTests
{
    [Fact]
    public void Encoded_prices_sort_as_text_in_numeric_order_including_zero_fractions_and_large_values()
    {
        decimal[] amounts = [0m, 0.0001m, 0.01m, 0.1m, 0.5m, 0.9999m, 1m, 1.5m, 2m, 9.99m, 10m, 10.01m, 99m, 100m, 1_000_000m, 123_456_789.1234m, 9_999_999_999_999_999.9999m];

        var byText = amounts.OrderBy(ProductViewKeys.Price, StringComparer.Ordinal).ToArray();

        Assert.Equal(amounts, byText);
        Assert.All(amounts, a => Assert.Equal(ProductViewKeys.PriceDigits, ProductViewKeys.Price(a).Length));
        Assert.Equal("00000000000000125000", ProductViewKeys.Price(12.5m));
        Assert.Equal("00000000000000000000", ProductViewKeys.Price(0m));
    }

    [Fact]
    public void Decimals_beyond_four_are_truncated_so_the_order_never_inverts()
    {
        Assert.Equal(ProductViewKeys.Price(1.2345m), ProductViewKeys.Price(1.23459m));
        Assert.True(string.CompareOrdinal(ProductViewKeys.Price(1.23459m), ProductViewKeys.Price(1.2346m)) < 0);
    }

    [Theory]
    [InlineData("-0.01")]
    [InlineData("10000000000000000")]
    public void A_price_outside_the_key_range_has_no_key(string amount) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ProductViewKeys.Price(decimal.Parse(amount, System.Globalization.CultureInfo.InvariantCulture)));

    [Fact]
    public void Encoded_timestamps_sort_as_text_in_chronological_order_across_offsets_and_ticks()
    {
        var t = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        DateTimeOffset[] instants =
        [
            new DateTimeOffset(999, 12, 31, 23, 59, 59, TimeSpan.Zero),
            t.AddYears(-1),
            t,
            t.AddTicks(1),
            t.AddMilliseconds(1),
            new DateTimeOffset(2026, 1, 2, 5, 4, 6, TimeSpan.FromHours(2)), // 03:04:06 UTC
            t.AddHours(10),
            t.AddYears(7000),
        ];

        var byText = instants.OrderBy(ProductViewKeys.Timestamp, StringComparer.Ordinal).ToArray();

        Assert.Equal(instants, byText);
        Assert.Equal("2026-01-02T03:04:05.0000000Z", ProductViewKeys.Timestamp(t));
        Assert.Single(instants.Select(i => ProductViewKeys.Timestamp(i).Length).Distinct());
    }

    [Fact]
    public void Encoded_names_sort_case_insensitively_prefix_first_in_ordinal_order()
    {
        string[] names = ["", "A", "a b", "a-b", "ab", "Ab1", "abc", "B", "z", "Äpfel", "€uro"];

        var expected = names.OrderBy(n => n.ToLowerInvariant(), StringComparer.Ordinal).ToArray();
        var byText = names.OrderBy(ProductViewKeys.Name, StringComparer.Ordinal).ToArray();

        Assert.Equal(expected, byText);
        Assert.Equal(ProductViewKeys.Name("Desk"), ProductViewKeys.Name("DESK"));
        Assert.Matches("^[0-9a-f]*$", ProductViewKeys.Name("Äpfel & €uro"));
    }

    [Fact]
    public void With_keys_fills_every_key_from_the_view_fields()
    {
        var view = new ProductView
        {
            Id = Guid.NewGuid(),
            Sku = "SKU-1",
            Name = "Desk",
            Category = "furniture",
            Price = new Money(12.5m, "EUR"),
            Stock = 3,
            Version = 1,
            CreatedAt = DateTimeOffset.UnixEpoch,
            UpdatedAt = DateTimeOffset.UnixEpoch.AddDays(1),
        };

        var keyed = ProductViewKeys.WithKeys(view);

        Assert.Equal("00000000000000125000", keyed.PriceKey);
        Assert.Equal(ProductViewKeys.Name("desk"), keyed.NameKey);
        Assert.Equal("1970-01-02T00:00:00.0000000Z", keyed.UpdatedAtKey);
        Assert.Equal(view with { PriceKey = keyed.PriceKey, NameKey = keyed.NameKey, UpdatedAtKey = keyed.UpdatedAtKey }, keyed);
    }
}
