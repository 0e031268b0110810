using System.Buffers;
using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.DaprEmulator.Actors;

/// <summary>A registration body of a timer or reminder: <c>{"dueTime", "period", "ttl", "data", "callback"}</c>.</summary>
internal sealed record ActorScheduleRequest(string? DueTime, string? Period, string? Ttl, string? DataJson, string? Callback)
{
    /// <summary>Throws <see cref="JsonException"/> for a body that is not a JSON object with string fields.</summary>
    public static ActorScheduleRequest Parse(ReadOnlyMemory<byte> body)
    {
        using var doc = JsonDocument.Parse(body);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException($"json: cannot unmarshal {root.ValueKind.ToString().ToLowerInvariant()} into Go value of type struct");
        }

        string? Text(string name) => root.TryGetProperty(name, out var v)
            ? v.ValueKind switch
            {
                JsonValueKind.String => v.GetString(),
                JsonValueKind.Null => null,
                _ => throw new JsonException($"json: cannot unmarshal {v.ValueKind.ToString().ToLowerInvariant()} into Go struct field .{name} of type string"),
            }
            : null;

        return new ActorScheduleRequest(
            Text("dueTime"),
            Text("period"),
            Text("ttl"),
            root.TryGetProperty("data", out var data) ? data.GetRawText() : null,
            Text("callback"));
    }
}

/// <summary>
/// Timers (daprd 1.16 <c>pkg/actors/timers</c>): in memory only, per actor and name; firing is a turn like any call
/// (<c>PUT /actors/{type}/{id}/method/timer/{name}</c> with <c>{"data", "callback", "dueTime", "period"}</c>) and
/// activates the actor if needed; a response header <c>X-DaprReminderCancel: true</c> stops the timer; deactivation
/// removes the actor's timers.
/// </summary>
internal sealed partial class ActorRuntime
{
    private readonly ConcurrentDictionary<(ActorKey Actor, string Name), ScheduledTimer> timers = new();

    public async Task CreateTimerAsync(string actorType, string actorId, string name, ActorScheduleRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var key = new ActorKey(actorType, actorId);
        var config = await HostedConfigAsync(cancellationToken);
        if (!config.Hosts(actorType))
        {
            throw Failed(ActorErrors.TimerCreate($"can't create timer for actor {key}: actor type not registered"));
        }

        ActorSchedule schedule;
        try
        {
            schedule = ActorSchedule.Create("timer", $"{key}||{name}", request.DueTime, request.Period, request.Ttl, time.GetUtcNow());
        }
        catch (FormatException ex)
        {
            throw Failed(ActorErrors.TimerCreate(ex.Message));
        }

        var timer = new ScheduledTimer(key, name, request.Callback ?? "", request.DataJson, schedule, CancellationTokenSource.CreateLinkedTokenSource(stopping.Token));
        timers.AddOrUpdate((key, name), timer, (_, previous) =>
        {
            previous.Cancel();
            return timer;
        });
        Track(RunTimerAsync(timer, config.For(actorType)));
        LogTimerCreated(logger, actorType, actorId, name, schedule.FirstTick, schedule.Period.Value);

        Hosting.DaprApiException Failed(Hosting.DaprApiException error)
        {
            LogTimerFailed(logger, actorType, actorId, name, error.Message);
            return error;
        }
    }

    /// <summary><c>DELETE /v1.0/actors/{type}/{id}/timers/{name}</c>: always succeeds (daprd ignores unknown timers).</summary>
    public async Task DeleteTimerAsync(string actorType, string actorId, string name, CancellationToken cancellationToken)
    {
        await ready.Task.WaitAsync(cancellationToken);
        if (timers.TryRemove((new ActorKey(actorType, actorId), name), out var timer))
        {
            timer.Cancel();
            LogTimerDeleted(logger, actorType, actorId, name);
        }
    }

    private void RemoveTimers(ActorKey actor)
    {
        foreach (var entry in timers.Where(t => t.Key.Actor == actor).ToList())
        {
            if (timers.TryRemove(entry))
            {
                entry.Value.Cancel();
            }
        }
    }

    private void StopAllTimers()
    {
        foreach (var timer in timers.Values)
        {
            timer.Cancel();
        }

        timers.Clear();
    }

    private async Task RunTimerAsync(ScheduledTimer timer, ActorTypeSettings settings)
    {
        var token = timer.Cancellation.Token;
        var next = timer.Schedule.FirstTick;
        var period = timer.Schedule.Period;
        try
        {
            while (true)
            {
                var delay = next - time.GetUtcNow();
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, time, token);
                }

                if (timer.Schedule.ExpiresAt is { } expires && next >= expires)
                {
                    break;
                }

                var body = CallbackBody(timer.DataJson, timer.Schedule.DueTime, period.Value, timer.Callback);
                var canceled = false;
                try
                {
                    // Not the timer's token: unregistering a timer (even from its own callback) does not abort a running tick.
                    var call = ActorCall.Tick(body, () => !token.IsCancellationRequested);
                    var response = await CallAsync(timer.Actor, settings, "method/timer/" + Uri.EscapeDataString(timer.Name), call, stopping.Token);
                    if (response is null)
                    {
                        return;
                    }

                    canceled = IsTruthy(response.Header(ReminderCancelHeader));
                    if (response.StatusCode != 200)
                    {
                        LogTimerCallbackFailed(logger, timer.Actor.Type, timer.Actor.Id, timer.Name, $"error from actor service: ({response.StatusCode}) {System.Text.Encoding.UTF8.GetString(response.Body)}");
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogTimerCallbackFailed(logger, timer.Actor.Type, timer.Actor.Id, timer.Name, ex.Message);
                }

                period = period.Ticked();
                if (canceled || !period.HasRepeats || token.IsCancellationRequested)
                {
                    break;
                }

                next = period.Following(next);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return;
        }

        if (timers.TryRemove(new KeyValuePair<(ActorKey, string), ScheduledTimer>((timer.Actor, timer.Name), timer)))
        {
            LogTimerDeleted(logger, timer.Actor.Type, timer.Actor.Id, timer.Name);
        }

        timer.Cancel();
    }

    /// <summary>daprd's <c>TimerResponse</c> / <c>ReminderResponse</c> JSON: <c>data</c> echoes the registered JSON.</summary>
    private static byte[] CallbackBody(string? dataJson, string dueTime, string period, string? callback)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (dataJson is not null)
            {
                json.WritePropertyName("data");
                json.WriteRawValue(dataJson, skipInputValidation: true);
            }

            if (callback is not null)
            {
                json.WriteString("callback", callback);
            }

            json.WriteString("dueTime", dueTime);
            json.WriteString("period", period);
            json.WriteEndObject();
        }

        return buffer.WrittenMemory.ToArray();
    }

    private sealed class ScheduledTimer(ActorKey actor, string name, string callback, string? dataJson, ActorSchedule schedule, CancellationTokenSource cancellation)
    {
        public ActorKey Actor { get; } = actor;

        public string Name { get; } = name;

        public string Callback { get; } = callback;

        public string? DataJson { get; } = dataJson;

        public ActorSchedule Schedule { get; } = schedule;

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

    [LoggerMessage(Level = LogLevel.Debug, Message = "Timer {Name} for actor {ActorType}||{ActorId} created: first tick {FirstTick:O}, period '{Period}'")]
    private static partial void LogTimerCreated(ILogger logger, string actorType, string actorId, string name, DateTimeOffset firstTick, string period);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Timer {Name} for actor {ActorType}||{ActorId} removed")]
    private static partial void LogTimerDeleted(ILogger logger, string actorType, string actorId, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Creating timer {Name} for actor {ActorType}||{ActorId} failed: {Error}")]
    private static partial void LogTimerFailed(ILogger logger, string actorType, string actorId, string name, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Error executing timer {Name} for actor {ActorType}||{ActorId}: {Error}")]
    private static partial void LogTimerCallbackFailed(ILogger logger, string actorType, string actorId, string name, string error);
}
