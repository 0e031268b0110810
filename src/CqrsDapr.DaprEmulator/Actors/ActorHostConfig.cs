using System.Text.Json;

namespace CqrsDapr.DaprEmulator.Actors;

/// <summary>Settings that apply to one actor type.</summary>
internal sealed record ActorTypeSettings(TimeSpan IdleTimeout, TimeSpan DrainOngoingCallTimeout, bool ReentrancyEnabled, int MaxStackDepth);

/// <summary>
/// The app's answer to <c>GET /dapr/config</c>, read with daprd 1.16's rules (<c>pkg/config</c> <c>ApplicationConfig</c>,
/// <c>pkg/actors/api/config.go</c> <c>TranslateEntityConfig</c>): durations are Go durations; an unreadable one keeps
/// the default (idle 60 min, scan 30 s, drain 60 s); reentrancy is off unless enabled, with a max stack depth of 32.
/// An <c>entitiesConfig</c> entry replaces the settings of its types as a whole: what it leaves out takes daprd's
/// defaults, not the top-level values.
/// </summary>
internal sealed class ActorHostConfig
{
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromMinutes(60);
    public static readonly TimeSpan DefaultScanInterval = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DefaultDrainOngoingCallTimeout = TimeSpan.FromSeconds(60);
    public const int DefaultMaxStackDepth = 32;

    private readonly Dictionary<string, ActorTypeSettings> types;

    private ActorHostConfig(Dictionary<string, ActorTypeSettings> types, TimeSpan scanInterval, int remindersStoragePartitions)
    {
        this.types = types;
        ScanInterval = scanInterval;
        RemindersStoragePartitions = remindersStoragePartitions;
    }

    /// <summary>An app without actors (no config, or no entities).</summary>
    public static ActorHostConfig Empty { get; } = new(new Dictionary<string, ActorTypeSettings>(StringComparer.Ordinal), DefaultScanInterval, 0);

    public IReadOnlyCollection<string> HostedTypes => types.Keys;

    public TimeSpan ScanInterval { get; }

    /// <summary>Read but not emulated: reminders are kept in one record per actor type.</summary>
    public int RemindersStoragePartitions { get; }

    public bool Hosts(string actorType) => types.ContainsKey(actorType);

    public ActorTypeSettings For(string actorType) => types[actorType];

    /// <summary>Parses the JSON body; throws <see cref="JsonException"/> when it is not a JSON object.</summary>
    public static ActorHostConfig Parse(ReadOnlySpan<byte> json)
    {
        using var doc = JsonDocument.Parse(json.ToArray());
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("actor config is not a JSON object");
        }

        var global = Settings(root, DefaultIdleTimeout, DefaultDrainOngoingCallTimeout);
        var map = new Dictionary<string, ActorTypeSettings>(StringComparer.Ordinal);
        foreach (var entity in Strings(root, "entities"))
        {
            map[entity] = global;
        }

        if (root.TryGetProperty("entitiesConfig", out var entitiesConfig) && entitiesConfig.ValueKind == JsonValueKind.Array)
        {
            foreach (var entry in entitiesConfig.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Object))
            {
                var settings = Settings(entry, DefaultIdleTimeout, DefaultDrainOngoingCallTimeout);
                foreach (var entity in Strings(entry, "entities").Where(map.ContainsKey))
                {
                    // daprd ignores per-type settings for types missing from the top-level "entities".
                    map[entity] = settings;
                }
            }
        }

        var partitions = root.TryGetProperty("remindersStoragePartitions", out var p) && p.ValueKind == JsonValueKind.Number && p.TryGetInt32(out var n) ? n : 0;
        var scan = Duration(root, "actorScanInterval") is { } s && s > TimeSpan.Zero ? s : DefaultScanInterval;
        return new ActorHostConfig(map, scan, partitions);
    }

    private static ActorTypeSettings Settings(JsonElement element, TimeSpan idleDefault, TimeSpan drainDefault)
    {
        var enabled = false;
        var depth = DefaultMaxStackDepth;
        if (element.TryGetProperty("reentrancy", out var reentrancy) && reentrancy.ValueKind == JsonValueKind.Object)
        {
            enabled = reentrancy.TryGetProperty("enabled", out var e) && e.ValueKind == JsonValueKind.True;
            if (reentrancy.TryGetProperty("maxStackDepth", out var d) && d.ValueKind == JsonValueKind.Number && d.TryGetInt32(out var value))
            {
                depth = value;
            }
        }

        return new ActorTypeSettings(
            Duration(element, "actorIdleTimeout") ?? idleDefault,
            Duration(element, "drainOngoingCallTimeout") ?? drainDefault,
            enabled,
            depth);
    }

    private static TimeSpan? Duration(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
        && ActorSchedule.TryParseGoDuration(value.GetString()!, out var duration) && duration >= TimeSpan.Zero
            ? duration
            : null;

    private static List<string> Strings(JsonElement element, string name) =>
        element.TryGetProperty(name, out var array) && array.ValueKind == JsonValueKind.Array
            ? array.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).Where(s => s.Length > 0).ToList()
            : [];
}
