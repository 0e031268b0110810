using System.Buffers;
using System.Collections.Concurrent;
using System.Text.Json;
using CqrsDapr.DaprEmulator.Hosting;
using CqrsDapr.DaprEmulator.State;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.DaprEmulator.Actors;

/// <summary>
/// Reminders, persisted in the actor state store (<see cref="ActorReminderStorage"/>) so they survive a sidecar
/// restart. Firing is a turn like any call (<c>PUT /actors/{type}/{id}/method/remind/{name}</c> with
/// <c>{"data", "dueTime", "period"}</c>) and activates the actor; <c>X-DaprReminderCancel: true</c> in the response, the
/// last repetition or the TTL deletes the reminder.
/// </summary>
/// <remarks>
/// daprd 1.16 keeps reminders in the Scheduler service by default; the emulator keeps them where daprd kept them before
/// (and still does with <c>SchedulerReminders</c> off): the actor state store. What the app and the SDK see is the same.
/// A callback that fails is logged and the schedule goes on (state-store reminders in daprd do not retry a tick).
/// </remarks>
internal sealed partial class ActorRuntime
{
    private readonly ConcurrentDictionary<string, ScheduledReminder> reminders = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> reminderTypeLocks = new(StringComparer.Ordinal);

    public async Task CreateReminderAsync(string actorType, string actorId, string name, ActorScheduleRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (storage, config) = await ReminderHostAsync(actorType, cancellationToken);
        var key = new ActorKey(actorType, actorId);
        StoredReminder reminder;
        try
        {
            var schedule = ActorSchedule.Create("reminder", $"{key}||{name}", request.DueTime, request.Period, request.Ttl, time.GetUtcNow());
            reminder = new StoredReminder(actorType, actorId, name, request.DataJson, schedule.DueTime, schedule.Period, schedule.FirstTick, schedule.ExpiresAt);
        }
        catch (FormatException ex)
        {
            throw ReminderFailed(key, name, ActorErrors.ReminderCreate(ex.Message));
        }

        var typeLock = reminderTypeLocks.GetOrAdd(actorType, _ => new SemaphoreSlim(1, 1));
        await typeLock.WaitAsync(cancellationToken);
        try
        {
            var changed = false;
            await storage.UpdateAsync(
                actorType,
                list =>
                {
                    var index = list.FindIndex(r => r.ActorId == actorId && r.Name == name);
                    if (index >= 0 && !list[index].RequiresUpdating(reminder))
                    {
                        return false;
                    }

                    if (index >= 0)
                    {
                        list[index] = reminder;
                    }
                    else
                    {
                        list.Add(reminder);
                    }

                    changed = true;
                    return true;
                },
                cancellationToken);
            if (changed)
            {
                await storage.DeleteTrackAsync(reminder, cancellationToken);
                Schedule(storage, reminder, null, config.For(actorType));
                LogReminderCreated(logger, actorType, actorId, name, reminder.RegisteredTime, reminder.Period.Value);
            }
        }
        catch (Exception ex) when (ex is not (DaprApiException or OperationCanceledException))
        {
            throw ReminderFailed(key, name, ActorErrors.ReminderCreate(ex.Message));
        }
        finally
        {
            typeLock.Release();
        }
    }

    /// <summary>
    /// <c>GET /v1.0/actors/{type}/{id}/reminders/{name}</c>: daprd 1.16's JSON (<c>actorID</c>, <c>actorType</c>,
    /// <c>data</c>, <c>dueTime</c>, <c>period</c>, <c>ttl</c>), or <c>ERR_ACTOR_REMINDER_NOT_FOUND</c>.
    /// </summary>
    public async Task<byte[]> GetReminderAsync(string actorType, string actorId, string name, CancellationToken cancellationToken)
    {
        var (storage, _) = await ReminderHostAsync(actorType, cancellationToken);
        IReadOnlyList<StoredReminder> list;
        try
        {
            list = await storage.LoadAsync(actorType, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw ReminderFailed(new ActorKey(actorType, actorId), name, ActorErrors.ReminderGet(ex.Message));
        }

        var reminder = list.FirstOrDefault(r => r.ActorId == actorId && r.Name == name)
            ?? throw ReminderFailed(new ActorKey(actorType, actorId), name, ActorErrors.ReminderNotFound(name));
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("actorID", reminder.ActorId);
            json.WriteString("actorType", reminder.ActorType);
            if (reminder.DataJson is { } data)
            {
                json.WritePropertyName("data");
                json.WriteRawValue(data, skipInputValidation: true);
            }

            if (reminder.DueTime.Length > 0)
            {
                json.WriteString("dueTime", reminder.DueTime);
            }

            if (reminder.Period.Value.Length > 0)
            {
                json.WriteString("period", reminder.Period.Value);
            }

            if (reminder.ExpirationTime is { } expires)
            {
                json.WriteString("ttl", expires.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture));
            }

            json.WriteEndObject();
        }

        return buffer.WrittenMemory.ToArray();
    }

    /// <summary><c>DELETE /v1.0/actors/{type}/{id}/reminders/{name}</c>; deleting a reminder that does not exist succeeds.</summary>
    public async Task DeleteReminderAsync(string actorType, string actorId, string name, CancellationToken cancellationToken)
    {
        var (storage, _) = await ReminderHostAsync(actorType, cancellationToken);
        try
        {
            await DeleteReminderRecordAsync(storage, actorType, actorId, name, null, cancellationToken);
        }
        catch (Exception ex) when (ex is not (DaprApiException or OperationCanceledException))
        {
            throw ReminderFailed(new ActorKey(actorType, actorId), name, ActorErrors.ReminderDelete(ex.Message));
        }
    }

    private async Task<(ActorReminderStorage Storage, ActorHostConfig Config)> ReminderHostAsync(string actorType, CancellationToken cancellationToken)
    {
        var store = RequireStore();
        var config = await ready.Task.WaitAsync(cancellationToken);
        if (stopping.IsCancellationRequested)
        {
            throw ActorErrors.RuntimeClosed();
        }

        return config.Hosts(actorType) ? (new ActorReminderStorage(store), config) : throw ActorErrors.ReminderOpActorNotHosted();
    }

    /// <summary>
    /// Removes the reminder from the store and stops its schedule. With <paramref name="only"/>, only if that
    /// registration is still the current one (a schedule that ends must not delete a newer registration).
    /// </summary>
    private async Task DeleteReminderRecordAsync(ActorReminderStorage storage, string actorType, string actorId, string name, StoredReminder? only, CancellationToken cancellationToken)
    {
        var typeLock = reminderTypeLocks.GetOrAdd(actorType, _ => new SemaphoreSlim(1, 1));
        await typeLock.WaitAsync(cancellationToken);
        try
        {
            StoredReminder? removed = null;
            await storage.UpdateAsync(
                actorType,
                list =>
                {
                    var index = list.FindIndex(r => r.ActorId == actorId && r.Name == name);
                    if (index < 0 || (only is not null && list[index] != only))
                    {
                        return false;
                    }

                    removed = list[index];
                    list.RemoveAt(index);
                    return true;
                },
                cancellationToken);
            if (removed is not null)
            {
                await storage.DeleteTrackAsync(removed, cancellationToken);
                if (reminders.TryRemove(removed.Key, out var scheduled))
                {
                    scheduled.Cancel();
                }

                LogReminderDeleted(logger, actorType, actorId, name);
            }
        }
        finally
        {
            typeLock.Release();
        }
    }

    private async Task LoadRemindersAsync(IStateStore store, ActorHostConfig config, CancellationToken cancellationToken)
    {
        var storage = new ActorReminderStorage(store);
        foreach (var actorType in config.HostedTypes)
        {
            var list = await storage.LoadAsync(actorType, cancellationToken);
            foreach (var reminder in list)
            {
                Schedule(storage, reminder, await storage.GetTrackAsync(reminder, cancellationToken), config.For(actorType));
            }

            if (list.Count > 0)
            {
                LogRemindersLoaded(logger, list.Count, actorType);
            }
        }
    }

    private void Schedule(ActorReminderStorage storage, StoredReminder reminder, ReminderTrack? track, ActorTypeSettings settings)
    {
        var scheduled = new ScheduledReminder(reminder, CancellationTokenSource.CreateLinkedTokenSource(stopping.Token));
        reminders.AddOrUpdate(reminder.Key, scheduled, (_, previous) =>
        {
            previous.Cancel();
            return scheduled;
        });
        Track(RunReminderAsync(storage, scheduled, track, settings));
    }

    private async Task RunReminderAsync(ActorReminderStorage storage, ScheduledReminder scheduled, ReminderTrack? track, ActorTypeSettings settings)
    {
        var reminder = scheduled.Reminder;
        var token = scheduled.Cancellation.Token;
        var period = reminder.Period;
        var next = reminder.RegisteredTime;
        if (track is not null)
        {
            // daprd Reminder.UpdateFromTrack: continue after the last tick that fired.
            period = period with { Repeats = track.RepetitionLeft };
            next = period.Following(track.LastFiredTime);
        }

        var done = false;
        try
        {
            while (!done)
            {
                var delay = next - time.GetUtcNow();
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, time, token);
                }

                if (reminder.ExpirationTime is { } expires && next >= expires)
                {
                    break;
                }

                var body = CallbackBody(reminder.DataJson, reminder.DueTime, reminder.Period.Value, null);
                var canceled = false;
                try
                {
                    var call = ActorCall.Tick(body, () => !token.IsCancellationRequested);
                    var response = await CallAsync(reminder.Actor, settings, "method/remind/" + Uri.EscapeDataString(reminder.Name), call, stopping.Token);
                    if (response is null)
                    {
                        return;
                    }

                    canceled = IsTruthy(response.Header(ReminderCancelHeader));
                    if (response.StatusCode != 200)
                    {
                        LogReminderCallbackFailed(logger, reminder.ActorType, reminder.ActorId, reminder.Name, $"error from actor service: ({response.StatusCode}) {System.Text.Encoding.UTF8.GetString(response.Body)}");
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogReminderCallbackFailed(logger, reminder.ActorType, reminder.ActorId, reminder.Name, ex.Message);
                }

                period = period.Ticked();
                done = canceled || !period.HasRepeats;
                if (!done && !token.IsCancellationRequested)
                {
                    try
                    {
                        await storage.SetTrackAsync(reminder, new ReminderTrack(next, period.Repeats), stopping.Token);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        LogReminderCallbackFailed(logger, reminder.ActorType, reminder.ActorId, reminder.Name, "saving the reminder track failed: " + ex.Message);
                    }

                    next = period.Following(next);
                }

                if (token.IsCancellationRequested)
                {
                    return; // Deleted or replaced meanwhile.
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return;
        }

        // Last repetition, TTL reached or canceled by the actor: the reminder is gone (daprd deletes it too).
        try
        {
            await DeleteReminderRecordAsync(storage, reminder.ActorType, reminder.ActorId, reminder.Name, reminder, stopping.Token);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogReminderCallbackFailed(logger, reminder.ActorType, reminder.ActorId, reminder.Name, "deleting the finished reminder failed: " + ex.Message);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private DaprApiException ReminderFailed(ActorKey actor, string name, DaprApiException error)
    {
        LogReminderFailed(logger, actor.Type, actor.Id, name, error.Message);
        return error;
    }

    private sealed class ScheduledReminder(StoredReminder reminder, CancellationTokenSource cancellation)
    {
        public StoredReminder Reminder { get; } = reminder;

        public CancellationTokenSource Cancellation { get; } = cancellation;

        public void Cancel()
        {
            try
            {
                Cancellation.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Reminder {Name} for actor {ActorType}||{ActorId} registered: first tick {FirstTick:O}, period '{Period}'")]
    private static partial void LogReminderCreated(ILogger logger, string actorType, string actorId, string name, DateTimeOffset firstTick, string period);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Reminder {Name} for actor {ActorType}||{ActorId} deleted")]
    private static partial void LogReminderDeleted(ILogger logger, string actorType, string actorId, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded {Count} reminder(s) for actor type {ActorType} from the actor state store")]
    private static partial void LogRemindersLoaded(ILogger logger, int count, string actorType);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reminder {Name} for actor {ActorType}||{ActorId}: {Error}")]
    private static partial void LogReminderFailed(ILogger logger, string actorType, string actorId, string name, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Error executing reminder {Name} for actor {ActorType}||{ActorId}: {Error}")]
    private static partial void LogReminderCallbackFailed(ILogger logger, string actorType, string actorId, string name, string error);
}
