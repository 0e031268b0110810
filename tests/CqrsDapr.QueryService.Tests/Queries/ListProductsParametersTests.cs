using CqrsDapr.QueryService.Products.Queries;
using CqrsDapr.QueryService.Views;

namespace CqrsDapr.QueryService.Tests.Queries;

/// <summary>The list's query string, validated into a query or field errors, without a server.</summary>
public sealed class ListProductsParametersTests
{
    [Fact]
    public void No_parameters_mean_every_product_by_name_twenty_per_page()
    {
        var (query, errors) = ListProductsParameters.Validate(null, null, null, null, null, null);

        Assert.Empty(errors);
        Assert.Equal(new ProductQuery(null, null, null, ProductSort.Name, 20, null), query);
    }

    [Theory]
    [InlineData("name", "Name")]
    [InlineData("-name", "NameDescending")]
    [InlineData("price", "Price")]
    [InlineData("-price", "PriceDescending")]
    [InlineData("updatedAt", "UpdatedAt")]
    [InlineData("-updatedAt", "UpdatedAtDescending")]
    public void Each_documented_sort_is_accepted(string sort, string expected)
    {
        var (query, _) = ListProductsParameters.Validate(null, null, null, sort, null, null);

        Assert.Equal(Enum.Parse<ProductSort>(expected), query?.Sort);
    }

    [Fact]
    public void Valid_filters_and_page_size_are_kept_as_given()
    {
        var (query, errors) = ListProductsParameters.Validate("tools", "0", "99.95", "-price", "100", null);

        Assert.Empty(errors);
        Assert.Equal(new ProductQuery("tools", 0m, 99.95m, ProductSort.PriceDescending, 100, null), query);
    }

    [Fact]
    public void Every_invalid_parameter_gets_its_own_error_at_once()
    {
        var (query, errors) = ListProductsParameters.Validate(new string('c', 101), "1e3", "-2", "Name", "0", null);

        Assert.Null(query);
        Assert.Equal(["category", "maxPrice", "minPrice", "pageSize", "sort"], errors.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_price_beyond_the_largest_key_is_refused_instead_of_failing_later()
    {
        var (_, errors) = ListProductsParameters.Validate(null, "10000000000000000", null, null, null, null);

        Assert.Contains("minPrice", errors.Keys);
    }
}
