namespace CqrsDapr.DaprEmulator.State;

/// <summary>
/// daprd's key scheme (1.16 <c>pkg/components/state/state_config.go</c>): stored key = <c>prefix||key</c>, where the
/// component's <c>keyPrefix</c> metadata picks the prefix: <c>appid</c> (default), <c>name</c>, <c>namespace</c>,
/// <c>none</c>, or any other value used literally. Actor state ignores keyPrefix.
/// </summary>
internal sealed class StateKeys
{
    public const string Separator = "||";

    private readonly string? prefix;

    public StateKeys(string? keyPrefixMetadata, string appId, string componentName, string @namespace)
    {
        var strategy = string.IsNullOrEmpty(keyPrefixMetadata) ? "appid" : keyPrefixMetadata.ToLowerInvariant();
        if (strategy.Contains(Separator, StringComparison.Ordinal))
        {
            throw new ArgumentException($"keyPrefix '{keyPrefixMetadata}' must not contain '||'");
        }

        prefix = strategy switch
        {
            "appid" => string.IsNullOrEmpty(appId) ? null : appId,
            "name" => componentName,
            "namespace" => string.IsNullOrEmpty(@namespace) ? (string.IsNullOrEmpty(appId) ? null : appId) : $"{@namespace}.{appId}",
            "none" => null,
            _ => strategy,
        };
    }

    /// <summary>Throws <see cref="ArgumentException"/> for keys daprd rejects (<c>ERR_MALFORMED_REQUEST</c>).</summary>
    public string ToStored(string key)
    {
        if (key.Contains(Separator, StringComparison.Ordinal))
        {
            throw new ArgumentException($"input key/keyPrefix '{key}' can't contain '||'");
        }

        return prefix is null ? key : string.Concat(prefix, Separator, key);
    }

    /// <summary>
    /// daprd's <c>GetOriginalStateKey</c>: the second <c>||</c> segment when there is one, else the key itself
    /// (so actor rows seen through a query come back as the actor type).
    /// </summary>
    public static string ToOriginal(string storedKey)
    {
        var first = storedKey.IndexOf(Separator, StringComparison.Ordinal);
        if (first < 0)
        {
            return storedKey;
        }

        var rest = storedKey.AsSpan(first + Separator.Length);
        var second = rest.IndexOf(Separator, StringComparison.Ordinal);
        return second < 0 ? rest.ToString() : rest[..second].ToString();
    }

    /// <summary>Actor state key: <c>appId||actorType||actorId||key</c>.</summary>
    public static string ActorKey(string appId, string actorType, string actorId, string key) =>
        string.Join(Separator, appId, actorType, actorId, key);
}
