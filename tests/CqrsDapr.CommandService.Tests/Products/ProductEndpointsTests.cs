using System.Net;
using System.Text.Json;
using CqrsDapr.CommandService.Tests.Infrastructure;
using CqrsDapr.Contracts;
using CqrsDapr.Contracts.Products;
using Microsoft.EntityFrameworkCore;

namespace CqrsDapr.CommandService.Tests.Products;

/// <summary>Each command's success path through HTTP → sidecar → actor → database, with its headers, body and rows.</summary>
public sealed class ProductEndpointsTests(CommandServiceHost host) : IClassFixture<CommandServiceHost>
{
    private readonly ProductApi api = new(host);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static void AssertAccepted(JsonElement body, HttpResponseMessage response, Guid id, long version)
    {
        var token = new ConsistencyToken(ProductAggregate.Name, id.ToString("D"), version).ToString();
        Assert.Equal(id, body.GetProperty("id").GetGuid());
        Assert.Equal(version, body.GetProperty("version").GetInt64());
        Assert.Equal(token, body.GetProperty("consistencyToken").GetString());
        Assert.Equal($"\"{version}\"", response.Headers.ETag?.ToString());
        Assert.Equal(token, Assert.Single(response.Headers.GetValues("X-Consistency-Token")));
    }

    [Fact]
    public async Task Creating_a_product_answers_201_with_location_etag_and_token_and_stores_it_normalised_with_its_event()
    {
        var sku = "ab-" + Guid.NewGuid().ToString("N")[..8];
        using var response = await api.SendAsync(HttpMethod.Post, "/api/products", ProductApi.Json(ProductApi.NewProduct(sku)), correlationId: "corr-create-1");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await ProductApi.BodyAsync(response);
        var id = body.GetProperty("id").GetGuid();
        Assert.Equal(7, id.Version); // server-generated, time-ordered
        Assert.Equal($"/api/products/{id:D}", response.Headers.Location?.OriginalString);
        AssertAccepted(body, response, id, 1);

        await using var db = host.Database();
        var product = await db.Products.SingleAsync(p => p.Id == id, Ct);
        Assert.Equal(sku.ToUpperInvariant(), product.Sku);
        Assert.Equal("EUR", product.PriceCurrency);
        Assert.Equal(39.90m, product.PriceAmount);
        Assert.Equal(12, product.Stock);
        Assert.Equal(1, product.Version);
        var row = await db.Outbox.SingleAsync(m => m.AggregateId == id.ToString("D"), Ct);
        Assert.Equal(("ProductCreated", "product", 1L, "corr-create-1"), (row.EventType, row.AggregateType, row.AggregateVersion, row.CorrelationId));
        Assert.True(Guid.TryParse(row.CausationId, out _), "the causation id is the command's id");
        var created = JsonSerializer.Deserialize(row.Payload, ContractsJson.Default.ProductCreated)!;
        Assert.Equal(new ProductSnapshot(id, sku.ToUpperInvariant(), "Desk lamp", "Warm light", "lighting", new Money(39.90m, "EUR"), 12, 1, product.CreatedAt), created.Product);
    }

    [Fact]
    public async Task Without_a_correlation_header_the_trace_id_correlates_the_event()
    {
        var id = await api.AProductAsync();

        await using var db = host.Database();
        var row = await db.Outbox.SingleAsync(m => m.AggregateId == id.ToString("D"), Ct);
        Assert.Matches("^[0-9a-f]{32}$", row.CorrelationId);
    }

    [Fact]
    public async Task Patching_answers_200_with_the_new_version_and_stores_the_change_and_a_ProductUpdated_event()
    {
        var id = await api.AProductAsync();

        using var response = await api.PatchAsync(id, new { name = "Floor lamp", description = (string?)null, price = new { amount = 45.5, currency = "usd" } });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        AssertAccepted(await ProductApi.BodyAsync(response), response, id, 2);
        await using var db = host.Database();
        var product = await db.Products.SingleAsync(p => p.Id == id, Ct);
        Assert.Equal(("Floor lamp", (string?)null, 45.5m, "USD", 2L), (product.Name, product.Description, product.PriceAmount, product.PriceCurrency, product.Version));
        var row = await db.Outbox.SingleAsync(m => m.AggregateId == id.ToString("D") && m.AggregateVersion == 2, Ct);
        var updated = JsonSerializer.Deserialize(row.Payload, ContractsJson.Default.ProductUpdated)!;
        Assert.Equal(["name", "description", "price"], updated.ChangedFields);
        Assert.Equal(2, updated.Product.Version);
    }

    [Fact]
    public async Task A_patch_sent_as_plain_json_is_accepted_too()
    {
        var id = await api.AProductAsync();

        using var response = await api.PatchAsync(id, new { category = "office" }, contentType: "application/json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_patch_that_changes_nothing_answers_200_with_the_current_version_and_writes_nothing()
    {
        var id = await api.AProductAsync();
        var before = await host.RowCountsAsync();

        using var response = await api.PatchAsync(id, new { name = "Desk lamp" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        AssertAccepted(await ProductApi.BodyAsync(response), response, id, 1);
        Assert.Equal(before, await host.RowCountsAsync());
    }

    [Fact]
    public async Task Adjusting_stock_answers_200_and_stores_the_new_stock_and_a_ProductStockAdjusted_event()
    {
        var id = await api.AProductAsync(stock: 12);

        using var response = await api.AdjustStockAsync(id, -3, "sold");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        AssertAccepted(await ProductApi.BodyAsync(response), response, id, 2);
        await using var db = host.Database();
        Assert.Equal(9, (await db.Products.SingleAsync(p => p.Id == id, Ct)).Stock);
        var row = await db.Outbox.SingleAsync(m => m.AggregateId == id.ToString("D") && m.AggregateVersion == 2, Ct);
        var adjusted = JsonSerializer.Deserialize(row.Payload, ContractsJson.Default.ProductStockAdjusted)!;
        Assert.Equal((-3, "sold", 9), (adjusted.Delta, adjusted.Reason, adjusted.Product.Stock));
    }

    [Fact]
    public async Task Deleting_answers_204_with_etag_and_token_marks_the_row_deleted_and_records_ProductDeleted()
    {
        var id = await api.AProductAsync();

        using var response = await api.DeleteAsync(id);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("\"2\"", response.Headers.ETag?.ToString());
        Assert.Equal(new ConsistencyToken("product", id.ToString("D"), 2).ToString(), Assert.Single(response.Headers.GetValues("X-Consistency-Token")));
        Assert.Empty(await response.Content.ReadAsByteArrayAsync(Ct));
        await using var db = host.Database();
        var product = await db.Products.SingleAsync(p => p.Id == id, Ct);
        Assert.True(product.IsDeleted);
        Assert.Equal(2, product.Version);
        var row = await db.Outbox.SingleAsync(m => m.AggregateId == id.ToString("D") && m.AggregateVersion == 2, Ct);
        Assert.Equal("ProductDeleted", row.EventType);
    }

    [Fact]
    public async Task A_deleted_products_sku_can_be_used_again()
    {
        var sku = "reuse-" + Guid.NewGuid().ToString("N")[..8];
        using var first = await api.CreateAsync(ProductApi.NewProduct(sku));
        var id = (await ProductApi.BodyAsync(first)).GetProperty("id").GetGuid();
        (await api.DeleteAsync(id)).Dispose();

        using var second = await api.CreateAsync(ProductApi.NewProduct(sku));

        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
    }

    [Fact]
    public async Task A_matching_if_match_lets_each_command_through()
    {
        var id = await api.AProductAsync();

        using var patched = await api.PatchAsync(id, new { name = "v2" }, ifMatch: "\"1\"");
        using var adjusted = await api.AdjustStockAsync(id, 1, ifMatch: "\"2\"");
        using var deleted = await api.DeleteAsync(id, ifMatch: "\"3\"");

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.NoContent], [patched.StatusCode, adjusted.StatusCode, deleted.StatusCode]);
    }

    [Fact]
    public async Task Stale_if_match_is_rejected_with_412_and_nothing_is_written()
    {
        var id = await api.AProductAsync();
        (await api.PatchAsync(id, new { name = "New" }, ifMatch: "\"1\"")).Dispose(); // version 2
        var before = await host.RowCountsAsync();

        using var patch = await api.PatchAsync(id, new { name = "Old" }, ifMatch: "\"1\"");
        using var adjust = await api.AdjustStockAsync(id, 1, ifMatch: "\"1\"");
        using var delete = await api.DeleteAsync(id, ifMatch: "\"1\"");

        foreach (var response in new[] { patch, adjust, delete })
        {
            Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = await ProductApi.BodyAsync(response);
            Assert.Equal(412, problem.GetProperty("status").GetInt32());
            Assert.Equal("version-mismatch", problem.GetProperty("code").GetString());
        }

        Assert.Equal(before, await host.RowCountsAsync());
        await using var db = host.Database();
        Assert.Equal(2, (await db.Products.SingleAsync(p => p.Id == id, Ct)).Version);
    }

    [Fact]
    public async Task A_create_retried_with_the_same_idempotency_key_returns_the_first_response_and_creates_one_product()
    {
        var key = Guid.NewGuid().ToString();
        var body = ProductApi.NewProduct();
        using var first = await api.CreateAsync(body, key);
        var before = await host.RowCountsAsync();

        using var retry = await api.CreateAsync(body, key);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(Ct), await retry.Content.ReadAsStringAsync(Ct));
        Assert.Equal(first.Headers.Location, retry.Headers.Location);
        Assert.Equal(first.Headers.ETag, retry.Headers.ETag);
        Assert.Equal(first.Headers.GetValues("X-Consistency-Token"), retry.Headers.GetValues("X-Consistency-Token"));
        Assert.Equal(before, await host.RowCountsAsync());
    }

    [Fact]
    public async Task Concurrent_creates_with_one_idempotency_key_create_one_product_and_all_get_its_response()
    {
        var key = Guid.NewGuid().ToString();
        var body = ProductApi.NewProduct();
        var before = await host.RowCountsAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => api.CreateAsync(body, key)));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        Assert.Single(responses.Select(r => r.Headers.Location).Distinct());
        var after = await host.RowCountsAsync();
        Assert.Equal((before.Products + 1, before.Outbox + 1, before.IdempotencyRecords + 1), after);
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task A_stock_adjustment_retried_with_the_same_idempotency_key_is_applied_once()
    {
        var id = await api.AProductAsync(stock: 10);
        var key = Guid.NewGuid().ToString();
        using var first = await api.AdjustStockAsync(id, -4, idempotencyKey: key);

        using var retry = await api.AdjustStockAsync(id, -4, idempotencyKey: key);

        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(Ct), await retry.Content.ReadAsStringAsync(Ct));
        Assert.Equal("\"2\"", retry.Headers.ETag?.ToString());
        await using var db = host.Database();
        var product = await db.Products.SingleAsync(p => p.Id == id, Ct);
        Assert.Equal((6, 2L), (product.Stock, product.Version));
    }

    [Fact]
    public async Task The_same_idempotency_key_with_a_different_body_is_422_and_writes_nothing()
    {
        var key = Guid.NewGuid().ToString();
        using var first = await api.CreateAsync(ProductApi.NewProduct(), key);
        var id = (await ProductApi.BodyAsync(first)).GetProperty("id").GetGuid();
        using var adjusted = await api.AdjustStockAsync(id, 1, idempotencyKey: key); // another route: another scope
        var before = await host.RowCountsAsync();

        using var create = await api.CreateAsync(ProductApi.NewProduct(), key);
        using var adjust = await api.AdjustStockAsync(id, 2, idempotencyKey: key);

        Assert.Equal(HttpStatusCode.OK, adjusted.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, create.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, adjust.StatusCode);
        Assert.Equal("idempotency-key-reused", (await ProductApi.BodyAsync(create)).GetProperty("code").GetString());
        Assert.Equal(before, await host.RowCountsAsync());
    }

    [Fact]
    public async Task The_openapi_document_describes_the_product_commands()
    {
        var document = await host.Client.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative), Ct);

        Assert.Contains("\"/api/products\"", document, StringComparison.Ordinal);
        Assert.Contains("\"/api/products/{id}/stock-adjustments\"", document, StringComparison.Ordinal);
        Assert.Contains("application/merge-patch+json", document, StringComparison.Ordinal);
        Assert.Contains("CreateProduct", document, StringComparison.Ordinal);
    }
}
