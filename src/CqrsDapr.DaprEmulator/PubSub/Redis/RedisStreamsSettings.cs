using System.Globalization;
using CqrsDapr.DaprEmulator.Components;

namespace CqrsDapr.DaprEmulator.PubSub.Redis;

/// <summary>A Redis address: <c>host:port</c>, <c>[v6]:port</c>, or a bare host (port 6379).</summary>
internal sealed record RedisEndpoint(string Host, int Port)
{
    public static RedisEndpoint Parse(string text)
    {
        text = text.Trim();
        if (text.Length == 0)
        {
            // go-redis dials localhost:6379 when Addr is empty.
            return new RedisEndpoint("localhost", 6379);
        }

        var colon = text.LastIndexOf(':');
        var bracketed = text.StartsWith('[');
        if (colon > 0 && (!bracketed || text[colon - 1] == ']')
            && int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port))
        {
            return new RedisEndpoint(text[..colon].Trim('[', ']'), port);
        }

        return new RedisEndpoint(text.Trim('[', ']'), 6379);
    }

    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}

/// <summary>
/// The metadata of a <c>pubsub.redis</c> component, decoded as components-contrib v1.16
/// (<c>common/component/redis/settings.go</c> + <c>ParseClientFromProperties</c> for the pubsub type) does it.
/// </summary>
/// <remarks>
/// ⚠ components-contrib v1.16 code defaults <c>processingTimeout</c> to 60 s and <c>redeliverInterval</c> to 15 s;
/// the component's metadata.yaml and the docs say the opposite (15 s / 60 s). The code is what runs, so it is what
/// the emulator does.
/// </remarks>
internal sealed record RedisStreamsSettings
{
    public required RedisEndpoint Endpoint { get; init; }

    public string? Username { get; init; }

    public string? Password { get; init; }

    public int Database { get; init; }

    public required string ConsumerId { get; init; }

    public TimeSpan ProcessingTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public TimeSpan RedeliverInterval { get; init; } = TimeSpan.FromSeconds(15);

    public int QueueDepth { get; init; } = 100;

    public int Concurrency { get; init; } = 10;

    public long MaxLenApprox { get; init; }

    /// <summary><c>readTimeout</c>: XREADGROUP's BLOCK; 0 (the default) blocks until an entry arrives.</summary>
    public TimeSpan ReadTimeout { get; init; }

    public TimeSpan DialTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Both timings must be non-zero for the reclaim loop to run (v1.16 <c>reclaimPendingMessagesLoop</c>).</summary>
    public bool RedeliveryEnabled => ProcessingTimeout > TimeSpan.Zero && RedeliverInterval > TimeSpan.Zero;

    /// <summary>
    /// Decodes the component metadata. <paramref name="appId"/> and <paramref name="namespaceName"/> fill the
    /// <c>{appID}</c>/<c>{namespace}</c> templates (daprd <c>pkg/runtime/meta</c>); an empty <c>consumerID</c> becomes the
    /// app-id (daprd <c>pkg/runtime/processor/pubsub</c>).
    /// </summary>
    public static RedisStreamsSettings Parse(ComponentDefinition definition, string appId, string namespaceName, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(environment);
        string? Get(string key) => definition.Get(key) is { } v ? ExpandTemplates(key, v, appId, namespaceName, environment) : null;

        foreach (var (key, what) in new[]
        {
            ("enableTLS", "TLS (enableTLS)"),
            ("failover", "Redis Sentinel (failover)"),
            ("useEntraID", "Entra ID authentication (useEntraID)"),
            ("useAzureAD", "Entra ID authentication (useAzureAD)"),
        })
        {
            if (Get(key) is { Length: > 0 } text && ParseBool(key, text))
            {
                throw new ResourceException($"component '{definition.Name}': {what} is not supported by the Dapr emulator's pubsub.redis; use daprd, or a plain Redis connection");
            }
        }

        if (Get("redisType") is { Length: > 0 } redisType && !string.Equals(redisType, "node", StringComparison.OrdinalIgnoreCase))
        {
            throw new ResourceException($"component '{definition.Name}': redisType '{redisType}' is not supported by the Dapr emulator's pubsub.redis (only 'node')");
        }

        var consumerId = Get("consumerID")?.Trim();
        var settings = new RedisStreamsSettings
        {
            Endpoint = RedisEndpoint.Parse(Get("redisHost") ?? ""),
            Username = NullIfEmpty(Get("redisUsername")),
            Password = NullIfEmpty(Get("redisPassword")),
            ConsumerId = string.IsNullOrEmpty(consumerId) ? appId : consumerId,
        };

        if (Get("redisDB") is { Length: > 0 } db)
        {
            settings = settings with { Database = ParseInt(definition.Name, "redisDB", db) };
        }

        if (Get("processingTimeout") is { Length: > 0 } processingTimeout)
        {
            settings = settings with { ProcessingTimeout = ParseMillisecondsOrDuration(definition.Name, "processingTimeout", processingTimeout) };
        }

        if (Get("redeliverInterval") is { Length: > 0 } redeliverInterval)
        {
            settings = settings with { RedeliverInterval = ParseMillisecondsOrDuration(definition.Name, "redeliverInterval", redeliverInterval) };
        }

        if (Get("queueDepth") is { Length: > 0 } queueDepth)
        {
            settings = settings with { QueueDepth = ParseUnsigned(definition.Name, "queueDepth", queueDepth) };
        }

        if (Get("concurrency") is { Length: > 0 } concurrency)
        {
            settings = settings with { Concurrency = ParseUnsigned(definition.Name, "concurrency", concurrency) };
        }

        if (Get("maxLenApprox") is { Length: > 0 } maxLen)
        {
            settings = settings with
            {
                MaxLenApprox = long.TryParse(maxLen, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
                    ? n
                    : throw Decode(definition.Name, "maxLenApprox", maxLen),
            };
        }

        if (Get("readTimeout") is { Length: > 0 } readTimeout)
        {
            var value = ParseMillisecondsOrDuration(definition.Name, "readTimeout", readTimeout);
            settings = settings with { ReadTimeout = value < TimeSpan.Zero ? TimeSpan.Zero : value };
        }

        if (Get("dialTimeout") is { Length: > 0 } dialTimeout)
        {
            var value = ParseMillisecondsOrDuration(definition.Name, "dialTimeout", dialTimeout);
            settings = settings with { DialTimeout = value > TimeSpan.Zero ? value : TimeSpan.FromSeconds(5) };
        }

        return settings;
    }

    private static string ExpandTemplates(string key, string value, string appId, string namespaceName, Func<string, string?> environment)
    {
        if (!value.Contains('{', StringComparison.Ordinal))
        {
            return value;
        }

        while (value.Contains("{uuid}", StringComparison.Ordinal))
        {
            var at = value.IndexOf("{uuid}", StringComparison.Ordinal);
            value = string.Concat(value.AsSpan(0, at), Guid.NewGuid().ToString(), value.AsSpan(at + 6));
        }

        if (value.Contains("{podName}", StringComparison.Ordinal))
        {
            var podName = environment("POD_NAME");
            value = string.IsNullOrEmpty(podName)
                ? throw new ResourceException($"failed to parse metadata: property {key} refers to {{podName}} but podName is not set")
                : value.Replace("{podName}", podName, StringComparison.Ordinal);
        }

        return value
            .Replace("{namespace}", $"{namespaceName}.{appId}", StringComparison.Ordinal)
            .Replace("{appID}", appId, StringComparison.Ordinal);
    }

    /// <summary>Legacy rule of v1.16: a bare number is milliseconds, anything else a Go duration.</summary>
    private static TimeSpan ParseMillisecondsOrDuration(string component, string key, string text)
    {
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var ms))
        {
            return TimeSpan.FromMilliseconds(ms);
        }

        try
        {
            return GoDuration.Parse(text);
        }
        catch (FormatException)
        {
            throw Decode(component, key, text);
        }
    }

    private static int ParseUnsigned(string component, string key, string text) =>
        uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= int.MaxValue
            ? (int)n
            : throw Decode(component, key, text);

    private static int ParseInt(string component, string key, string text) =>
        int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : throw Decode(component, key, text);

    /// <summary>Go <c>strconv.ParseBool</c>, which mapstructure's weak decoding uses.</summary>
    private static bool ParseBool(string key, string text) => text switch
    {
        "1" or "t" or "T" or "true" or "TRUE" or "True" => true,
        "0" or "f" or "F" or "false" or "FALSE" or "False" => false,
        _ => throw new ResourceException($"redis client configuration error: decode failed. cannot parse '{key}' as bool: invalid syntax \"{text}\""),
    };

    private static ResourceException Decode(string component, string key, string text) =>
        new($"component '{component}': redis client configuration error: decode failed. cannot parse '{key}' from \"{text}\"");

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
