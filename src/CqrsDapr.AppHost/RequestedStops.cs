using System.Collections.Concurrent;

namespace CqrsDapr.AppHost;

/// <summary>
/// The resources someone asked to stop: the lifecycle commands that stop a resource (the dashboard's Stop, Restart and
/// Rebuild, or the same commands run by a test) note the resource before they run, so that its exit is not reported
/// as a failure (<see cref="ResourceExits"/>). Aspire adds these commands to each resource as it prepares the run;
/// they are wrapped before each start of the resource (<see cref="BeforeResourceStartedEvent"/>). A note is taken by
/// the resource's next exit.
/// </summary>
internal sealed class RequestedStops
{
    /// <summary>The commands that stop the resource they run on (Aspire's names, current and legacy).</summary>
    internal static readonly HashSet<string> StoppingCommands = new(StringComparer.Ordinal)
    {
        KnownResourceCommands.StopCommand,
        KnownResourceCommands.RestartCommand,
        KnownResourceCommands.RebuildCommand,
        "resource-stop",
        "resource-restart",
    };

    private readonly ConcurrentDictionary<string, bool> requested = new(StringComparer.Ordinal);

    public void Add(IDistributedApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Eventing.Subscribe<BeforeResourceStartedEvent>((@event, _) =>
        {
            Wrap(@event.Resource);
            return Task.CompletedTask;
        });
    }

    /// <summary>Notes <paramref name="resourceId"/> (a resource instance or a resource's name) as asked to stop.</summary>
    public void Request(string resourceId) => requested[resourceId] = true;

    /// <summary>Whether the resource was asked to stop since its last exit; the note is taken.</summary>
    public bool Take(string resourceId, string name) =>
        requested.TryRemove(resourceId, out _) | requested.TryRemove(name, out _);

    /// <summary>Replaces each stopping command of <paramref name="resource"/> by one that notes the request first.</summary>
    internal void Wrap(IResource resource)
    {
        var annotations = resource.Annotations;
        for (var index = 0; index < annotations.Count; index++)
        {
            if (annotations[index] is ResourceCommandAnnotation command && StoppingCommands.Contains(command.Name) && command is not { ExecuteCommand.Target: Noting })
            {
                annotations[index] = new ResourceCommandAnnotation(
                    command.Name,
                    command.DisplayName,
                    command.UpdateState,
                    new Noting(this, resource.Name, command.ExecuteCommand).ExecuteAsync,
                    command.DisplayDescription,
                    command.Arguments,
                    command.ConfirmationMessage,
                    command.IconName,
                    command.IconVariant,
                    command.IsHighlighted,
                    command.Visibility,
                    command.ValidateArguments);
            }
        }
    }

    /// <summary>A stopping command that notes the request, then runs.</summary>
    private sealed class Noting(RequestedStops stops, string name, Func<ExecuteCommandContext, Task<ExecuteCommandResult>> command)
    {
        public Task<ExecuteCommandResult> ExecuteAsync(ExecuteCommandContext context)
        {
            stops.Request(context.ResourceName);
            stops.Request(name);
            return command(context);
        }
    }
}
