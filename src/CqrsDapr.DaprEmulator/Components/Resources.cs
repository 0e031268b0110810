namespace CqrsDapr.DaprEmulator.Components;

/// <summary>A <c>dapr.io/v1alpha1 Component</c> after scope filtering and secret resolution.</summary>
internal sealed record ComponentDefinition(
    string Name,
    string Type,
    string Version,
    IReadOnlyDictionary<string, string> Metadata,
    IReadOnlyList<string> Scopes,
    bool IgnoreErrors,
    TimeSpan InitTimeout,
    string SourceFile)
{
    /// <summary>Metadata keys are matched case-insensitively, as components-contrib does.</summary>
    public string? Get(string key) =>
        Metadata.TryGetValue(key, out var v) ? v
        : Metadata.FirstOrDefault(kv => string.Equals(kv.Key, key, StringComparison.OrdinalIgnoreCase)).Value;

    public bool GetBool(string key, bool fallback = false) =>
        Get(key) is { } v ? string.Equals(v, "true", StringComparison.OrdinalIgnoreCase) || v == "1" : fallback;

    public string Kind => Type.Split('.')[0];
}

/// <summary>One routing rule of a subscription; <c>Match</c> empty means "always" (the default route).</summary>
internal sealed record SubscriptionRule(string Match, string Path);

/// <summary>A subscription from <c>GET /dapr/subscribe</c> or a declarative <c>Subscription</c> resource.</summary>
internal sealed record SubscriptionDefinition(
    string PubSubName,
    string Topic,
    IReadOnlyList<SubscriptionRule> Rules,
    string? DeadLetterTopic,
    IReadOnlyDictionary<string, string> Metadata,
    BulkSubscribeSettings BulkSubscribe,
    string Source)
{
    public bool RawPayload => Metadata.TryGetValue("rawPayload", out var raw) && string.Equals(raw, "true", StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// <c>bulkSubscribe</c> of a subscription. A count or duration that is absent, zero or negative means the default
/// (daprd 1.16 <c>utils.GetIntValOrDefault</c>: 100 messages, 1000 ms).
/// </summary>
internal sealed record BulkSubscribeSettings(bool Enabled, int MaxMessagesCount, int MaxAwaitDurationMs)
{
    public const int DefaultMaxMessagesCount = 100;

    public const int DefaultMaxAwaitDurationMs = 1000;

    public static BulkSubscribeSettings Disabled { get; } = new(false, 0, 0);

    public int EffectiveMaxMessagesCount => MaxMessagesCount > 0 ? MaxMessagesCount : DefaultMaxMessagesCount;

    public TimeSpan EffectiveMaxAwaitDuration => TimeSpan.FromMilliseconds(MaxAwaitDurationMs > 0 ? MaxAwaitDurationMs : DefaultMaxAwaitDurationMs);
}

/// <summary>A retry policy from a <c>Resiliency</c> resource (daprd 1.16 semantics: maxRetries -1 = forever).</summary>
internal sealed record RetryPolicy(string Name, bool Exponential, TimeSpan Duration, TimeSpan MaxInterval, int MaxRetries)
{
    public TimeSpan DelayFor(int attempt)
    {
        if (!Exponential)
        {
            return Duration;
        }

        // dapr/kit exponential backoff: 500 ms initial interval, factor 1.5, capped at maxInterval.
        var ms = 500 * Math.Pow(1.5, attempt);
        return TimeSpan.FromMilliseconds(Math.Min(ms, MaxInterval.TotalMilliseconds));
    }
}

internal sealed record ComponentPolicies(RetryPolicy? InboundRetry, TimeSpan? InboundTimeout, RetryPolicy? OutboundRetry, TimeSpan? OutboundTimeout);

/// <summary>Everything read from the resources paths and the <c>--config</c> file.</summary>
internal sealed record LoadedResources(
    IReadOnlyList<ComponentDefinition> Components,
    IReadOnlyList<SubscriptionDefinition> Subscriptions,
    IReadOnlyDictionary<string, ComponentPolicies> ComponentPolicies,
    IReadOnlySet<string> Features)
{
    public static LoadedResources Empty { get; } = new([], [], new Dictionary<string, ComponentPolicies>(), new HashSet<string>());
}
