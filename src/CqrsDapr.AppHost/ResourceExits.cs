namespace CqrsDapr.AppHost;

/// <summary>
/// Which state changes of the system's processes are failures, from the states Aspire reports for each resource
/// (<see cref="Observe"/>): a resource that reaches a terminal state (<c>Exited</c>, <c>Finished</c>,
/// <c>FailedToStart</c>) from any other has exited, and that is unexpected unless someone stopped it (the dashboard's
/// Stop, Restart or Rebuild, see <see cref="RequestedStops"/>) or it is <c>migrations</c> finishing with exit code 0,
/// the one resource meant to end. Exits while the AppHost itself stops are not observed at all (the caller stops
/// watching first). When every resource has exited and none was stopped on request, the orchestrator has torn the
/// system down (<see cref="EverythingStopped"/>).
/// </summary>
internal sealed class ResourceExits
{
    /// <summary>The write database's schema job: the one resource that is meant to finish (with exit code 0).</summary>
    public const string Migrations = "migrations";

    private static readonly HashSet<string> TerminalStates = new(KnownResourceStates.TerminalStates, StringComparer.Ordinal);

    private readonly Dictionary<string, Entry> resources = new(StringComparer.Ordinal);

    /// <summary>
    /// True once every resource seen is in a terminal state (and at least one was seen), none of them stopped on
    /// request, and at least one exited unexpectedly: nothing runs, and nobody asked for it.
    /// </summary>
    public bool EverythingStopped =>
        resources.Count > 0
        && resources.Values.All(entry => entry.Terminal && !entry.StoppedOnRequest)
        && resources.Values.Any(entry => entry.Unexpected);

    /// <summary>
    /// Records a state of resource <paramref name="resourceId"/> (named <paramref name="name"/> in the model). Returns the
    /// exit when this state ends a run of the resource (a terminal state after a state that was not), else null.
    /// </summary>
    /// <param name="stopRequested">Whether someone asked for this resource to stop since it last ran.</param>
    public ResourceExit? Observe(string resourceId, string name, string? state, int? exitCode, bool stopRequested)
    {
        if (string.IsNullOrEmpty(state))
        {
            return null;
        }

        var terminal = TerminalStates.Contains(state);
        if (!resources.TryGetValue(resourceId, out var entry))
        {
            // First seen: a resource already terminal when the watch starts is no change of this run.
            resources[resourceId] = new Entry(terminal, StoppedOnRequest: false, Unexpected: false);
            return null;
        }

        if (!terminal || entry.Terminal)
        {
            resources[resourceId] = terminal ? entry : new Entry(Terminal: false, StoppedOnRequest: false, Unexpected: false);
            return null;
        }

        var expected = stopRequested || (name == Migrations && state == KnownResourceStates.Finished && exitCode == 0);
        resources[resourceId] = new Entry(Terminal: true, StoppedOnRequest: stopRequested, Unexpected: !expected);
        return new ResourceExit(name, state, exitCode, StoppedOnRequest: stopRequested, Unexpected: !expected);
    }

    private readonly record struct Entry(bool Terminal, bool StoppedOnRequest, bool Unexpected);
}

/// <summary>A resource's run ended: its name, the state it ended in and its exit code (null when unknown).</summary>
internal sealed record ResourceExit(string Name, string State, int? ExitCode, bool StoppedOnRequest, bool Unexpected);
