using System.Buffers;
using System.Globalization;
using System.Text.Json;
using CqrsDapr.DaprEmulator.State;

namespace CqrsDapr.DaprEmulator.Actors;

/// <summary>
/// One registered reminder as it is stored. <see cref="DataJson"/> is the raw JSON the caller sent as <c>data</c>
/// (the .NET SDK sends a base64 string), echoed back verbatim in callbacks and on GET.
/// </summary>
internal sealed record StoredReminder(
    string ActorType,
    string ActorId,
    string Name,
    string? DataJson,
    string DueTime,
    ActorPeriod Period,
    DateTimeOffset RegisteredTime,
    DateTimeOffset? ExpirationTime)
{
    public ActorKey Actor => new(ActorType, ActorId);

    public string Key => ActorType + "||" + ActorId + "||" + Name;

    /// <summary>daprd <c>Reminder.RequiresUpdating</c>: re-registering an identical reminder changes nothing.</summary>
    public bool RequiresUpdating(StoredReminder updated) =>
        DueTime != updated.DueTime || Period.Value != updated.Period.Value || updated.ExpirationTime is not null
        || (ExpirationTime is not null && updated.ExpirationTime is null) || DataJson != updated.DataJson;
}

/// <summary>When a reminder last fired and how many repetitions are left (daprd <c>ReminderTrack</c>).</summary>
internal sealed record ReminderTrack(DateTimeOffset LastFiredTime, int RepetitionLeft);

/// <summary>
/// Reminders kept in the actor state store in the layout daprd uses when reminders are not in the Scheduler service
/// (daprd 1.14, or 1.15/1.16 with the <c>SchedulerReminders</c> feature off; <c>pkg/actors/reminders/statestore.go</c>):
/// <list type="bullet">
/// <item><c>actors||{type}</c>: a JSON array with every reminder of the type (the emulator writes JSON; daprd ≥1.13 may
/// write protobuf, prefixed <c>\0pb</c>, which the emulator cannot read and reports);</item>
/// <item><c>actors||{type}||metadata</c>: <c>{"id": …, "actorRemindersMetadata": {"partitionCount": 0}}</c>, written in
/// the same transaction (partitioned reminder storage is not emulated);</item>
/// <item><c>{type}||{id}||{name}</c>: the reminder's track, <c>{"lastFiredTime": …, "repetitionLeft": n}</c>.</item>
/// </list>
/// Keys are used as they are: actor rows ignore the component's keyPrefix. Writes use ETags with first-write
/// concurrency, and are retried when a concurrent writer wins.
/// </summary>
internal sealed class ActorReminderStorage(IStateStore store)
{
    private const string NilMetadataId = "00000000-0000-0000-0000-000000000000";
    private static readonly IReadOnlyDictionary<string, string> NoMetadata = new Dictionary<string, string>();

    public static string ListKey(string actorType) => "actors||" + actorType;

    public static string MetadataKey(string actorType) => "actors||" + actorType + "||metadata";

    public async Task<IReadOnlyList<StoredReminder>> LoadAsync(string actorType, CancellationToken cancellationToken) =>
        (await ReadAsync(actorType, cancellationToken)).Reminders;

    /// <summary>
    /// Reads the type's list, applies <paramref name="change"/> (which returns false when there is nothing to write)
    /// and writes list and metadata in one transaction; retried when another writer changed them meanwhile.
    /// </summary>
    public async Task UpdateAsync(string actorType, Func<List<StoredReminder>, bool> change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(change);
        for (var attempt = 1; ; attempt++)
        {
            var (reminders, listETag, metadataETag) = await ReadAsync(actorType, cancellationToken);
            var list = reminders.ToList();
            if (!change(list))
            {
                return;
            }

            var partitionKey = new Dictionary<string, string> { ["partitionKey"] = ListKey(actorType) };
            try
            {
                await store.TransactAsync(
                    [
                        new StateOperation(new StateSet(ListKey(actorType), StateValue.Json(Serialize(list)), listETag, StateConcurrency.FirstWrite, partitionKey), null),
                        new StateOperation(new StateSet(MetadataKey(actorType), StateValue.Json(MetadataJson()), metadataETag, StateConcurrency.FirstWrite, partitionKey), null),
                    ],
                    cancellationToken);
                return;
            }
            catch (StateETagMismatchException) when (attempt < 10)
            {
            }
        }
    }

    public async Task<ReminderTrack?> GetTrackAsync(StoredReminder reminder, CancellationToken cancellationToken)
    {
        var entry = await store.GetAsync(reminder.Key, cancellationToken);
        if (entry is null || entry.Data.IsEmpty)
        {
            return null;
        }

        using var doc = JsonDocument.Parse(entry.Data);
        var root = doc.RootElement;
        var last = root.TryGetProperty("lastFiredTime", out var l) && l.ValueKind == JsonValueKind.String
            ? DateTimeOffset.Parse(l.GetString()!, CultureInfo.InvariantCulture)
            : (DateTimeOffset?)null;
        var left = root.TryGetProperty("repetitionLeft", out var r) && r.TryGetInt32(out var n) ? n : -1;
        return last is { } fired ? new ReminderTrack(fired, left) : null;
    }

    public Task SetTrackAsync(StoredReminder reminder, ReminderTrack track, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("lastFiredTime", FormatTime(track.LastFiredTime));
            json.WriteNumber("repetitionLeft", track.RepetitionLeft);
            json.WriteEndObject();
        }

        return store.SetAsync(new StateSet(reminder.Key, StateValue.Json(buffer.WrittenMemory.ToArray()), null, StateConcurrency.Unspecified, NoMetadata), cancellationToken);
    }

    public Task DeleteTrackAsync(StoredReminder reminder, CancellationToken cancellationToken) =>
        store.DeleteAsync(new StateDelete(reminder.Key, null, StateConcurrency.Unspecified, NoMetadata), cancellationToken);

    /// <summary>daprd's Reminder JSON (RFC 3339 times with nanoseconds, empty fields left out).</summary>
    public static void Write(Utf8JsonWriter json, StoredReminder reminder)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(reminder);
        json.WriteStartObject();
        json.WriteString("registeredTime", FormatTime(reminder.RegisteredTime));
        if (reminder.ExpirationTime is { } expires)
        {
            json.WriteString("expirationTime", FormatTime(expires));
        }

        if (reminder.Period.Value.Length > 0)
        {
            json.WriteString("period", reminder.Period.Value);
        }

        if (reminder.DataJson is { } data)
        {
            json.WritePropertyName("data");
            json.WriteRawValue(data, skipInputValidation: true);
        }

        json.WriteString("actorID", reminder.ActorId);
        json.WriteString("actorType", reminder.ActorType);
        json.WriteString("name", reminder.Name);
        if (reminder.DueTime.Length > 0)
        {
            json.WriteString("dueTime", reminder.DueTime);
        }

        json.WriteEndObject();
    }

    /// <summary>Go's <c>time.RFC3339Nano</c> in UTC: trailing zeros of the fraction dropped.</summary>
    public static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    private async Task<(IReadOnlyList<StoredReminder> Reminders, string? ListETag, string? MetadataETag)> ReadAsync(string actorType, CancellationToken cancellationToken)
    {
        var metadata = await store.GetAsync(MetadataKey(actorType), cancellationToken);
        if (metadata is not null && !metadata.Data.IsEmpty)
        {
            using var doc = JsonDocument.Parse(metadata.Data);
            if (doc.RootElement.TryGetProperty("actorRemindersMetadata", out var m) && m.TryGetProperty("partitionCount", out var p)
                && p.TryGetInt32(out var partitions) && partitions > 0)
            {
                throw new NotSupportedException(
                    $"the reminders of actor type {actorType} are stored in {partitions} partitions (remindersStoragePartitions); the Dapr emulator reads only unpartitioned reminders");
            }
        }

        var list = await store.GetAsync(ListKey(actorType), cancellationToken);
        if (list is null || list.Data.IsEmpty)
        {
            return ([], list?.ETag, metadata?.ETag);
        }

        if (list.Data.Span is [0, (byte)'p', (byte)'b', ..])
        {
            throw new NotSupportedException($"the reminders of actor type {actorType} were stored as protobuf by daprd; the Dapr emulator reads only JSON reminders");
        }

        using var json = JsonDocument.Parse(list.Data);
        var reminders = json.RootElement.ValueKind == JsonValueKind.Array
            ? json.RootElement.EnumerateArray().Select(Read).ToList()
            : [];
        return (reminders, list.ETag, metadata?.ETag);
    }

    private static StoredReminder Read(JsonElement element)
    {
        string Text(string name) => element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
        DateTimeOffset? Time(string name) => Text(name) is { Length: > 0 } t ? DateTimeOffset.Parse(t, CultureInfo.InvariantCulture) : null;

        return new StoredReminder(
            Text("actorType"),
            Text("actorID"),
            Text("name"),
            element.TryGetProperty("data", out var data) ? data.GetRawText() : null,
            Text("dueTime"),
            ActorPeriod.Parse(Text("period")),
            Time("registeredTime") ?? DateTimeOffset.UnixEpoch,
            Time("expirationTime"));
    }

    private static byte[] Serialize(List<StoredReminder> reminders)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var reminder in reminders)
            {
                Write(json, reminder);
            }

            json.WriteEndArray();
        }

        return buffer.WrittenMemory.ToArray();
    }

    private static byte[] MetadataJson() =>
        System.Text.Encoding.UTF8.GetBytes("{\"id\":\"" + NilMetadataId + "\",\"actorRemindersMetadata\":{\"partitionCount\":0}}");
}
