namespace CqrsDapr.Benchmarks;

/// <summary>
/// The system's processes that exited or appeared between two snapshots (a pid of the first missing from the second,
/// or new in it): a service that crashed and was restarted shows as both. Target: none during any phase.
/// </summary>
internal sealed record ProcessChanges(IReadOnlyList<SystemProcess> Exited, IReadOnlyList<SystemProcess> Appeared, int Count)
{
    public bool None => Exited.Count == 0 && Appeared.Count == 0;

    public static ProcessChanges Between(SystemProcesses before, SystemProcesses after)
    {
        var was = before.Processes.Select(p => p.Pid).ToHashSet();
        var now = after.Processes.Select(p => p.Pid).ToHashSet();
        return new([.. before.Processes.Where(p => !now.Contains(p.Pid))], [.. after.Processes.Where(p => !was.Contains(p.Pid))], after.Processes.Count);
    }

    /// <summary>"none exited or appeared (14 processes)", or which did.</summary>
    public string Describe() => None
        ? Count == 0 ? "no process of the system found (not watched)" : $"none exited or appeared ({Count} processes)"
        : string.Join("; ", new[] { ("EXITED", Exited), ("APPEARED", Appeared) }
            .Where(c => c.Item2.Count > 0)
            .Select(c => $"{c.Item1}: {string.Join(", ", c.Item2.Select(p => $"{p.Role} ({p.Pid})"))}"));
}
