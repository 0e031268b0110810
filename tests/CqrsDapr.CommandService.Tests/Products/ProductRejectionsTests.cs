using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using CqrsDapr.CommandService.Diagnostics;
using CqrsDapr.CommandService.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace CqrsDapr.CommandService.Tests.Products;

/// <summary>Every way a command is refused: the status, a ProblemDetails body without internals, and nothing written.</summary>
public sealed class ProductRejectionsTests(CommandServiceHost host) : IClassFixture<CommandServiceHost>
{
    private readonly ProductApi api = new(host);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Sends, checks status, ProblemDetails shape and <c>code</c>, checks that no table changed; returns the problem.</summary>
    private async Task<JsonElement> AssertRejectedAsync(HttpStatusCode status, string code, Func<Task<HttpResponseMessage>> send)
    {
        var before = await host.RowCountsAsync();
        using var response = await send();
        var text = await response.Content.ReadAsStringAsync(Ct);

        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}\n{host.Logs.Tail()}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(text).RootElement.Clone();
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.Equal(code, problem.GetProperty("code").GetString());
        Assert.True(problem.TryGetProperty("title", out _));
        Assert.DoesNotContain("Exception", text, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
        Assert.False(response.Headers.Contains("X-Consistency-Token"));
        Assert.Equal(before, await host.RowCountsAsync());
        return problem;
    }

    private static string[] ErrorFields(JsonElement problem) =>
        [.. problem.GetProperty("errors").EnumerateObject().Select(e => e.Name).Order(StringComparer.Ordinal)];

    public static TheoryData<string, string[]> InvalidCreates => new()
    {
        { """{"sku": "A1", "name": "", "category": "c", "price": {"amount": 1, "currency": "EUR"}}""", ["name"] },
        { """{"sku": "A1", "name": "n", "category": "c", "price": {"amount": -1, "currency": "EUR"}}""", ["price.amount"] },
        { """{"sku": "A1", "name": "n", "category": "c", "price": {"amount": 1, "currency": "ABC"}}""", ["price.currency"] },
        { """{"sku": "A1", "name": "n", "category": "c", "price": "cheap"}""", ["price"] },
        { """{"sku": "A1", "name": "n", "category": "c", "price": {"amount": 1, "currency": "EUR"}, "stock": "lots"}""", ["stock"] },
        { """{"name": 5, "category": "", "price": {"amount": "1", "currency": 3}, "stock": -1}""", ["category", "name", "price.amount", "price.currency", "sku", "stock"] },
        { """{"sku": "A1", "name": "n", "category": "c", "price": {"amount": 1, "currency": "EUR"}""", ["$"] },
        { """[1, 2]""", ["$"] },
        { "", ["$"] },
    };

    [Theory]
    [MemberData(nameof(InvalidCreates))]
    public async Task An_invalid_create_is_400_with_every_invalid_field_and_writes_nothing(string body, string[] fields)
    {
        var problem = await AssertRejectedAsync(HttpStatusCode.BadRequest, "validation-failed",
            () => api.SendAsync(HttpMethod.Post, "/api/products", ProductApi.Raw(body, "application/json")));

        Assert.Equal(fields, ErrorFields(problem));
    }

    public static TheoryData<string, byte[]> HostileBodies => new()
    {
        { "invalid UTF-8", [(byte)'{', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)':', (byte)'1', (byte)'}'] },
        { "nested 200 deep", System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"a\":", 200)) + "1" + new string('}', 200)) },
        { "number beyond decimal", System.Text.Encoding.UTF8.GetBytes("""{"sku": "A1", "name": "n", "category": "c", "price": {"amount": 1e400, "currency": "EUR"}}""") },
        { "stock beyond int", System.Text.Encoding.UTF8.GetBytes("""{"sku": "A1", "name": "n", "category": "c", "price": {"amount": 1, "currency": "EUR"}, "stock": 99999999999}""") },
        { "duplicate object close", System.Text.Encoding.UTF8.GetBytes("""{"sku": "A1"}}""") },
    };

    [Theory]
    [MemberData(nameof(HostileBodies))]
    public async Task A_hostile_body_is_a_400_never_a_500(string _, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");

        var problem = await AssertRejectedAsync(HttpStatusCode.BadRequest, "validation-failed", () => api.SendAsync(HttpMethod.Post, "/api/products", content));

        Assert.NotEmpty(ErrorFields(problem));
    }

    [Theory]
    [InlineData("""{"name": null}""", "name")]
    [InlineData("""{"price": {"amount": 5, "currency": "EURO"}}""", "price.currency")]
    [InlineData("""{"sku": "OTHER"}""", "sku")]
    [InlineData("""{"name": """, "$")]
    public async Task An_invalid_patch_is_400_with_the_field_and_writes_nothing(string body, string field)
    {
        var id = await api.AProductAsync();

        var problem = await AssertRejectedAsync(HttpStatusCode.BadRequest, "validation-failed",
            () => api.SendAsync(HttpMethod.Patch, $"/api/products/{id}", ProductApi.Raw(body, "application/merge-patch+json")));

        Assert.Equal([field], ErrorFields(problem));
    }

    [Theory]
    [InlineData("""{"delta": 0, "reason": "x"}""", "delta")]
    [InlineData("""{"delta": "three", "reason": "x"}""", "delta")]
    [InlineData("""{"delta": 3}""", "reason")]
    public async Task An_invalid_stock_adjustment_is_400_with_the_field_and_writes_nothing(string body, string field)
    {
        var id = await api.AProductAsync();

        var problem = await AssertRejectedAsync(HttpStatusCode.BadRequest, "validation-failed",
            () => api.SendAsync(HttpMethod.Post, $"/api/products/{id}/stock-adjustments", ProductApi.Raw(body, "application/json")));

        Assert.Equal([field], ErrorFields(problem));
    }

    public static TheoryData<string, string> RoutesWithAMalformedId => new()
    {
        { "PATCH", "/api/products/not-a-uuid" },
        { "POST", "/api/products/12345/stock-adjustments" },
        { "DELETE", "/api/products/not-a-uuid" },
    };

    [Theory]
    [MemberData(nameof(RoutesWithAMalformedId))]
    public async Task A_malformed_id_in_the_route_is_400_not_404(string method, string path)
    {
        var body = method == "POST" ? """{"delta": 1, "reason": "x"}""" : """{"name": "x"}""";
        var content = method == "DELETE" ? null : ProductApi.Raw(body, method == "PATCH" ? "application/merge-patch+json" : "application/json");

        var problem = await AssertRejectedAsync(HttpStatusCode.BadRequest, "validation-failed", () => api.SendAsync(new HttpMethod(method), path, content));

        Assert.Equal(["id"], ErrorFields(problem));
    }

    [Fact]
    public async Task Commands_on_an_unknown_product_are_404()
    {
        var id = Guid.NewGuid();

        await AssertRejectedAsync(HttpStatusCode.NotFound, "product-not-found", () => api.PatchAsync(id, new { name = "x" }));
        await AssertRejectedAsync(HttpStatusCode.NotFound, "product-not-found", () => api.AdjustStockAsync(id, 1));
        await AssertRejectedAsync(HttpStatusCode.NotFound, "product-not-found", () => api.DeleteAsync(id));
    }

    [Fact]
    public async Task Commands_on_a_deleted_product_are_404()
    {
        var id = await api.AProductAsync();
        (await api.DeleteAsync(id)).Dispose();

        await AssertRejectedAsync(HttpStatusCode.NotFound, "product-not-found", () => api.PatchAsync(id, new { name = "x" }));
        await AssertRejectedAsync(HttpStatusCode.NotFound, "product-not-found", () => api.AdjustStockAsync(id, 1));
        await AssertRejectedAsync(HttpStatusCode.NotFound, "product-not-found", () => api.DeleteAsync(id));
    }

    [Fact]
    public async Task A_second_live_product_with_the_same_sku_is_409_whatever_the_case_of_the_sku()
    {
        var sku = "dup-" + Guid.NewGuid().ToString("N")[..8];
        using var first = await api.CreateAsync(ProductApi.NewProduct(sku));
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);

        var problem = await AssertRejectedAsync(HttpStatusCode.Conflict, "duplicate-sku", () => api.CreateAsync(ProductApi.NewProduct(sku.ToUpperInvariant())));

        Assert.Equal("duplicate-sku", problem.GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_duplicate_sku_with_an_idempotency_key_stores_no_idempotency_record()
    {
        var sku = "dupkey-" + Guid.NewGuid().ToString("N")[..8];
        (await api.CreateAsync(ProductApi.NewProduct(sku))).Dispose();
        var key = Guid.NewGuid().ToString();

        await AssertRejectedAsync(HttpStatusCode.Conflict, "duplicate-sku", () => api.CreateAsync(ProductApi.NewProduct(sku), key));
        await AssertRejectedAsync(HttpStatusCode.Conflict, "duplicate-sku", () => api.CreateAsync(ProductApi.NewProduct(sku), key));
    }

    [Fact]
    public async Task Removing_more_stock_than_there_is_is_409_and_writes_nothing()
    {
        var id = await api.AProductAsync(stock: 2);

        var problem = await AssertRejectedAsync(HttpStatusCode.Conflict, "stock-below-zero", () => api.AdjustStockAsync(id, -3, idempotencyKey: Guid.NewGuid().ToString()));

        Assert.Equal("stock-below-zero", problem.GetProperty("code").GetString());
    }

    public static TheoryData<string, string, string?> NonJsonRequests => new()
    {
        { "POST", "/api/products", "text/plain" },
        { "POST", "/api/products", "application/xml" },
        { "POST", "/api/products", null },
        { "PATCH", "/api/products/{id}", "text/plain" },
        { "PATCH", "/api/products/{id}", "application/json-patch+json" },
        { "POST", "/api/products/{id}/stock-adjustments", "application/x-www-form-urlencoded" },
    };

    [Theory]
    [MemberData(nameof(NonJsonRequests))]
    public async Task A_body_that_is_not_json_is_415(string method, string path, string? contentType)
    {
        var id = await api.AProductAsync();
        var content = new StringContent("""{"name": "x"}""");
        content.Headers.ContentType = contentType is null ? null : new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);

        await AssertRejectedAsync(HttpStatusCode.UnsupportedMediaType, "unsupported-media-type", () => api.SendAsync(new HttpMethod(method), path.Replace("{id}", id.ToString(), StringComparison.Ordinal), content));
    }

    [Theory]
    [InlineData("POST", "/api/products", "application/json", true)]
    [InlineData("POST", "/api/products", "application/json", false)]
    [InlineData("PATCH", "/api/products/{id}", "application/merge-patch+json", true)]
    [InlineData("POST", "/api/products/{id}/stock-adjustments", "application/json", false)]
    public async Task A_body_over_64_KiB_is_413(string method, string path, string contentType, bool withContentLength)
    {
        var id = await api.AProductAsync();
        var json = JsonSerializer.Serialize(new { name = new string('x', 70 * 1024) });
        HttpContent content = withContentLength
            ? ProductApi.Raw(json, contentType)
            : new StreamContent(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json))); // chunked: no Content-Length
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        if (!withContentLength)
        {
            content.Headers.ContentLength = null;
        }

        await AssertRejectedAsync(HttpStatusCode.RequestEntityTooLarge, "payload-too-large", () => api.SendAsync(new HttpMethod(method), path.Replace("{id}", id.ToString(), StringComparison.Ordinal), content));
    }

    [Theory]
    [InlineData("GET", "/api/products")]
    [InlineData("GET", "/api/products/0190f1c2-7a3b-7cde-8f00-123456789abc")]
    [InlineData("HEAD", "/api/products/0190f1c2-7a3b-7cde-8f00-123456789abc")]
    [InlineData("PUT", "/api/products/0190f1c2-7a3b-7cde-8f00-123456789abc")]
    [InlineData("DELETE", "/api/products")]
    public async Task A_method_the_route_does_not_take_is_405_method_not_allowed(string method, string path)
    {
        using var response = await api.SendAsync(new HttpMethod(method), path, content: null);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        if (method != "HEAD")
        {
            var problem = await ProductApi.BodyAsync(response);
            Assert.Equal(405, problem.GetProperty("status").GetInt32());
            Assert.Equal("method-not-allowed", problem.GetProperty("code").GetString());
        }
    }

    [Theory]
    [InlineData("POST", "/api/orders")]
    [InlineData("POST", "/api/products/0190f1c2-7a3b-7cde-8f00-123456789abc/price-changes")]
    [InlineData("GET", "/nothing-here")]
    public async Task An_unknown_route_is_404_not_found(string method, string path)
    {
        var problem = await AssertRejectedAsync(HttpStatusCode.NotFound, "not-found",
            () => api.SendAsync(new HttpMethod(method), path, ProductApi.Raw("{}", "application/json")));

        Assert.Equal(404, problem.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Commands_are_counted_by_command_and_outcome()
    {
        var factory = host.Services.GetRequiredService<IMeterFactory>();
        var seen = new List<(string Command, string Outcome)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == factory && instrument.Name == CommandMetrics.CounterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            var t = tags.ToArray().ToDictionary(x => x.Key, x => (string)x.Value!);
            lock (seen)
            {
                seen.Add((t["command"], t["outcome"]));
            }
        });
        listener.Start();

        var id = await api.AProductAsync(stock: 1);
        (await api.AdjustStockAsync(id, -5)).Dispose();
        (await api.PatchAsync(id, new { name = "" })).Dispose();
        (await api.DeleteAsync(Guid.NewGuid())).Dispose();
        (await api.DeleteAsync(id, ifMatch: "\"9\"")).Dispose();

        lock (seen)
        {
            Assert.Equal(
                [("create", "accepted"), ("adjust-stock", "conflict"), ("update", "rejected-validation"), ("delete", "not-found"), ("delete", "precondition-failed")],
                seen);
        }
    }
}
