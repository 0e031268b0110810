using System.Text.Json;
using CqrsDapr.CommandService.Http;
using CqrsDapr.CommandService.Idempotency;
using CqrsDapr.CommandService.Products;
using CqrsDapr.CommandService.Products.AdjustStock;
using CqrsDapr.CommandService.Products.Create;
using CqrsDapr.CommandService.Products.Update;
using CqrsDapr.Contracts.Products;

namespace CqrsDapr.CommandService.Tests.Products;

public sealed class ProductRequestValidationTests
{
    private const string ValidCreate = """{"sku": "ab-100", "name": "Desk lamp", "description": "Warm", "category": "lighting", "price": {"amount": 39.90, "currency": "eur"}, "stock": 12}""";

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    private static (T? Value, Dictionary<string, string[]> Errors) Run<T>(Func<JsonElement, FieldErrors, T?> validate, string json)
    {
        var errors = new FieldErrors();
        var value = validate(Json(json), errors);
        return (value, errors.ToDictionary());
    }

    private static string Replace(string json, string property, string value)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        node[property] = value == "absent" ? null : System.Text.Json.Nodes.JsonNode.Parse(value);
        if (value == "absent")
        {
            node.Remove(property);
        }

        return node.ToJsonString();
    }

    [Fact]
    public void A_valid_create_request_is_normalised_sku_and_currency_upper_case()
    {
        var (product, errors) = Run(CreateProductEndpoint.Validate, ValidCreate);

        Assert.Empty(errors);
        Assert.Equal(new NewProduct("AB-100", "Desk lamp", "Warm", "lighting", new Money(39.90m, "EUR"), 12), product);
    }

    [Fact]
    public void Description_is_optional_and_stock_defaults_to_zero()
    {
        var (product, errors) = Run(CreateProductEndpoint.Validate, """{"sku": "X1", "name": "n", "category": "c", "price": {"amount": 1, "currency": "USD"}}""");

        Assert.Empty(errors);
        Assert.Null(product!.Description);
        Assert.Equal(0, product.Stock);
    }

    [Theory]
    [InlineData("sku", "absent", "sku")]
    [InlineData("sku", "\"\"", "sku")]
    [InlineData("sku", "\"has space\"", "sku")]
    [InlineData("sku", "42", "sku")]
    [InlineData("name", "absent", "name")]
    [InlineData("name", "\"   \"", "name")]
    [InlineData("name", "null", "name")]
    [InlineData("name", "true", "name")]
    [InlineData("category", "\"\"", "category")]
    [InlineData("description", "5", "description")]
    [InlineData("price", "\"cheap\"", "price")]
    [InlineData("price", "absent", "price")]
    [InlineData("price", """{"amount": -1, "currency": "EUR"}""", "price.amount")]
    [InlineData("price", """{"amount": "10", "currency": "EUR"}""", "price.amount")]
    [InlineData("price", """{"amount": 1.00001, "currency": "EUR"}""", "price.amount")]
    [InlineData("price", """{"amount": 1e20, "currency": "EUR"}""", "price.amount")]
    [InlineData("price", """{"amount": 100000000000, "currency": "EUR"}""", "price.amount")]
    [InlineData("price", """{"currency": "EUR"}""", "price.amount")]
    [InlineData("price", """{"amount": 1, "currency": "EURO"}""", "price.currency")]
    [InlineData("price", """{"amount": 1, "currency": "ABC"}""", "price.currency")]
    [InlineData("price", """{"amount": 1, "currency": 978}""", "price.currency")]
    [InlineData("price", """{"amount": 1}""", "price.currency")]
    [InlineData("stock", "-1", "stock")]
    [InlineData("stock", "1.5", "stock")]
    [InlineData("stock", "\"many\"", "stock")]
    [InlineData("colour", "\"red\"", "colour")]
    public void Each_invalid_create_field_is_reported_under_its_own_name(string property, string value, string field)
    {
        var (product, errors) = Run(CreateProductEndpoint.Validate, Replace(ValidCreate, property, value));

        Assert.Null(product);
        Assert.Equal([field], errors.Keys);
        Assert.NotEmpty(errors[field][0]);
    }

    [Fact]
    public void Every_invalid_field_is_reported_at_once()
    {
        var (_, errors) = Run(CreateProductEndpoint.Validate, """{"sku": "", "name": 1, "category": null, "price": {"amount": -5, "currency": "XYZ"}, "stock": -2}""");

        Assert.Equal(["category", "name", "price.amount", "price.currency", "sku", "stock"], errors.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_merge_patch_may_set_any_subset_and_null_description_clears_it()
    {
        var (patch, errors) = Run(UpdateProductEndpoint.Validate, """{"name": " Lamp ", "description": null}""");

        Assert.Empty(errors);
        Assert.Equal(new ProductPatch(Name: "Lamp", SetsDescription: true, Description: null), patch);
    }

    [Fact]
    public void An_empty_merge_patch_is_valid_and_sets_nothing()
    {
        var (patch, errors) = Run(UpdateProductEndpoint.Validate, "{}");

        Assert.Empty(errors);
        Assert.Equal(new ProductPatch(), patch);
    }

    [Theory]
    [InlineData("""{"name": null}""", "name")]
    [InlineData("""{"category": null}""", "category")]
    [InlineData("""{"price": null}""", "price")]
    [InlineData("""{"name": ""}""", "name")]
    [InlineData("""{"price": {"amount": -1, "currency": "EUR"}}""", "price.amount")]
    [InlineData("""{"price": {"amount": 3}}""", "price.currency")]
    [InlineData("""{"sku": "NEW"}""", "sku")]
    [InlineData("""{"stock": 3}""", "stock")]
    [InlineData("""{"whatever": 3}""", "whatever")]
    public void Each_invalid_patch_field_is_reported_under_its_own_name(string json, string field)
    {
        var (patch, errors) = Run(UpdateProductEndpoint.Validate, json);

        Assert.Null(patch);
        Assert.Equal([field], errors.Keys);
    }

    [Fact]
    public void A_valid_stock_adjustment_keeps_its_delta_and_trimmed_reason()
    {
        var (adjustment, errors) = Run((j, e) => AdjustStockEndpoint.Validate(j, e), """{"delta": -3, "reason": " sold "}""");

        Assert.Empty(errors);
        Assert.Equal((-3, "sold"), adjustment);
    }

    [Theory]
    [InlineData("""{"reason": "x"}""", "delta")]
    [InlineData("""{"delta": 0, "reason": "x"}""", "delta")]
    [InlineData("""{"delta": 1.5, "reason": "x"}""", "delta")]
    [InlineData("""{"delta": "3", "reason": "x"}""", "delta")]
    [InlineData("""{"delta": 3000000000, "reason": "x"}""", "delta")]
    [InlineData("""{"delta": 1}""", "reason")]
    [InlineData("""{"delta": 1, "reason": ""}""", "reason")]
    [InlineData("""{"delta": 1, "reason": 7}""", "reason")]
    public void Each_invalid_stock_adjustment_field_is_reported_under_its_own_name(string json, string field)
    {
        var (adjustment, errors) = Run((j, e) => AdjustStockEndpoint.Validate(j, e), json);

        Assert.Null(adjustment);
        Assert.Equal([field], errors.Keys);
    }

    [Theory]
    [InlineData("not-a-guid")]
    [InlineData("12345")]
    [InlineData("0190f1c27a3b7cde8f00123456789abc")]
    public void A_route_id_that_is_not_a_uuid_is_a_field_error(string id)
    {
        var errors = new FieldErrors();

        Assert.Null(ProductRoute.ParseId(id, errors));
        Assert.Equal(["id"], errors.ToDictionary().Keys);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("*", null)]
    [InlineData("\"3\"", 3L)]
    [InlineData(" \"12\" ", 12L)]
    [InlineData("W/\"3\"", 0L)]
    [InlineData("3", 0L)]
    [InlineData("\"abc\"", 0L)]
    [InlineData("\"-1\"", 0L)]
    public void If_match_yields_the_expected_version_and_a_foreign_tag_matches_no_version(string? header, long? expected)
    {
        Assert.Equal(expected, VersionETag.ExpectedVersion(header));
    }

    [Theory]
    [InlineData("")]
    [InlineData("bad\u0001key")]
    public void A_malformed_idempotency_key_is_a_field_error(string key)
    {
        var errors = new FieldErrors();

        Assert.Null(IdempotencyKeys.Read(key, errors));
        Assert.Equal([IdempotencyKeys.Header], errors.ToDictionary().Keys);
    }

    [Fact]
    public void An_overlong_idempotency_key_is_a_field_error()
    {
        var errors = new FieldErrors();

        Assert.Null(IdempotencyKeys.Read(new string('k', IdempotencyKeys.MaxKeyLength + 1), errors));
        Assert.True(errors.Any);
    }

    [Theory]
    [InlineData("EUR", true)]
    [InlineData("USD", true)]
    [InlineData("JPY", true)]
    [InlineData("CHF", true)]
    [InlineData("XTS", false)]
    [InlineData("XXX", false)]
    [InlineData("ABC", false)]
    [InlineData("DEM", false)]
    public void Currency_codes_are_checked_against_the_iso_4217_list(string code, bool known)
    {
        Assert.Equal(known, Currencies.IsKnown(code));
    }
}
