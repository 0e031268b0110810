using System.Text;
using System.Text.Json;
using CqrsDapr.DaprEmulator.Components;
using CqrsDapr.DaprEmulator.PubSub;
using CqrsDapr.DaprEmulator.PubSub.Redis;
using CqrsDapr.DaprEmulator.PubSub.Routing;

namespace CqrsDapr.DaprEmulator.Tests.PubSub;

/// <summary>The emulator's pure rules, checked without processes: the CEL subset, the app-response table, metadata codecs.</summary>
public sealed class EmulatorRulesTests
{
    private static readonly JsonElement Event = JsonDocument.Parse("""
        {"id":"1","type":"order.v2","source":"shop","data":{"kind":"big","count":3,"flag":true,"none":null},"n":5}
        """).RootElement;

    [Theory]
    [InlineData("event.type == \"order.v2\"", true)]
    [InlineData("event.type == 'order.v1'", false)]
    [InlineData("event.type != \"order.v1\"", true)]
    [InlineData("event.data.kind == \"big\" && event.source == \"shop\"", true)]
    [InlineData("event.data.kind == \"small\" || (event.type == \"order.v2\" && event.n == 5)", true)]
    [InlineData("!(event.type == \"order.v2\")", false)]
    [InlineData("event.data.count == 3", true)]
    [InlineData("event.data.count == 3.0", true)]
    [InlineData("event.data.flag", true)]
    [InlineData("event.data.none == null", true)]
    [InlineData("event.type == 5", false)]
    [InlineData("event.missing == \"x\" || event.type == \"order.v2\"", true)]
    [InlineData("event.type == \"order.v1\" && event.missing == \"x\"", false)]
    public void A_supported_match_expression_evaluates_as_cel_does(string expression, bool expected)
    {
        var match = RouteExpression.Compile(expression);

        var result = match.Evaluate(Event, out var error);

        Assert.Null(error);
        Assert.Equal(expected, result);
    }

    [Theory]
    [InlineData("event.missing == \"x\"", "no such key: missing")]
    [InlineData("event.missing == \"x\" && event.type == \"order.v2\"", "no such key: missing")]
    [InlineData("event.type", "was not a boolean")]
    [InlineData("event.type.inner == \"x\"", "does not support field selection")]
    public void Evaluating_an_absent_attribute_or_a_non_boolean_is_an_error(string expression, string expected)
    {
        var match = RouteExpression.Compile(expression);

        Assert.False(match.Evaluate(Event, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("event.type.startsWith(\"order\")")]
    [InlineData("event.type in [\"a\"]")]
    [InlineData("event.n > 3")]
    [InlineData("size(event.data) == 4")]
    [InlineData("type == \"x\"")]
    [InlineData("event[\"type\"] == \"x\"")]
    [InlineData("event.type == \"x\" &&")]
    [InlineData("(event.type == \"x\"")]
    public void An_expression_outside_the_subset_is_refused_at_compile_time(string expression)
    {
        Assert.Throws<RouteExpressionException>(() => RouteExpression.Compile(expression));
    }

    [Theory]
    [InlineData("", "")]
    [InlineData("   ", "")]
    [InlineData("{}", "")]
    [InlineData("null", "")]
    [InlineData("{\"status\":\"SUCCESS\"}", "SUCCESS")]
    [InlineData("{\"Status\":\"RETRY\"}", "RETRY")]
    [InlineData("{\"status\":\"DROP\",\"other\":[1,2]}", "DROP")]
    [InlineData("{\"status\":\"retry\"}", "retry")]
    [InlineData("{\"status\":\"RETRY\"} trailing", "RETRY")]
    public void The_app_response_status_is_read_as_gos_json_decoder_reads_it(string body, string expected)
    {
        Assert.Equal(expected, AppResponse.ReadStatus(Encoding.UTF8.GetBytes(body), out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("OK")]
    [InlineData("\"RETRY\"")]
    [InlineData("[{\"status\":\"RETRY\"}]")]
    [InlineData("{\"status\":5}")]
    [InlineData("{\"status\":\"RETRY\"")]
    public void A_body_that_is_not_an_object_with_a_string_status_skips_the_status_check(string body)
    {
        AppResponse.ReadStatus(Encoding.UTF8.GetBytes(body), out var error);

        Assert.NotNull(error);
    }

    [Fact]
    public void The_stream_metadata_field_is_gos_json_of_the_map()
    {
        var json = GoStringMapJson.Serialize(new Dictionary<string, string> { ["b"] = "<x & y>", ["a"] = "é\n\"q\"", ["c"] = "\u2028" });

        Assert.Equal("{\"a\":\"é\\n\\\"q\\\"\",\"b\":\"\\u003cx \\u0026 y\\u003e\",\"c\":\"\\u2028\"}", Encoding.UTF8.GetString(json));
        var back = GoStringMapJson.TryDeserialize(json, out var error);
        Assert.Null(error);
        Assert.Equal("<x & y>", back!["b"]);
    }

    [Fact]
    public void Redis_settings_default_as_the_components_contrib_code_does()
    {
        var settings = RedisStreamsSettings.Parse(Component(new() { ["redisHost"] = "127.0.0.1:6380" }), "orders", "", _ => null);

        Assert.Equal(new RedisEndpoint("127.0.0.1", 6380), settings.Endpoint);
        Assert.Equal("orders", settings.ConsumerId);
        Assert.Equal(TimeSpan.FromSeconds(60), settings.ProcessingTimeout);
        Assert.Equal(TimeSpan.FromSeconds(15), settings.RedeliverInterval);
        Assert.Equal(100, settings.QueueDepth);
        Assert.Equal(10, settings.Concurrency);
        Assert.Equal(0, settings.MaxLenApprox);
        Assert.Equal(TimeSpan.Zero, settings.ReadTimeout);
    }

    [Fact]
    public void Redis_timings_accept_milliseconds_or_go_durations_and_consumer_ids_expand_templates()
    {
        var settings = RedisStreamsSettings.Parse(
            Component(new() { ["redisHost"] = "redis", ["processingTimeout"] = "2500", ["redeliverInterval"] = "1m30s", ["consumerID"] = "{appID}-{namespace}", ["redisDB"] = "3" }),
            "orders",
            "prod",
            _ => null);

        Assert.Equal(new RedisEndpoint("redis", 6379), settings.Endpoint);
        Assert.Equal(TimeSpan.FromMilliseconds(2500), settings.ProcessingTimeout);
        Assert.Equal(TimeSpan.FromSeconds(90), settings.RedeliverInterval);
        Assert.Equal("orders-prod.orders", settings.ConsumerId);
        Assert.Equal(3, settings.Database);
        Assert.False(RedisStreamsSettings.Parse(Component(new() { ["redeliverInterval"] = "0" }), "a", "", _ => null).RedeliveryEnabled);
    }

    [Theory]
    [InlineData("enableTLS", "true", "TLS")]
    [InlineData("redisType", "cluster", "cluster")]
    [InlineData("failover", "true", "Sentinel")]
    [InlineData("concurrency", "many", "concurrency")]
    [InlineData("consumerID", "{podName}", "podName")]
    public void Redis_settings_the_emulator_cannot_honour_fail_with_a_clear_error(string key, string value, string mentioned)
    {
        var error = Assert.Throws<ResourceException>(() => RedisStreamsSettings.Parse(Component(new() { ["redisHost"] = "redis", [key] = value }), "a", "", _ => null));

        Assert.Contains(mentioned, error.Message, StringComparison.Ordinal);
    }

    private static ComponentDefinition Component(Dictionary<string, string> metadata) =>
        new("pubsub", "pubsub.redis", "v1", metadata, [], false, TimeSpan.FromSeconds(5), "test.yaml");
}
