using System.Globalization;

namespace CqrsDapr.AppHost;

/// <summary>The fields of <c>/proc/{pid}/stat</c> the AppHost uses (Linux): state, parent and start time.</summary>
internal sealed record ProcessStat(char State, int ParentPid, ulong StartTime)
{
    /// <summary>Whether the process has exited and waits to be reaped (or is being): it runs no more.</summary>
    public bool IsZombie => State is 'Z' or 'X' or 'x';

    /// <summary>Fields 3, 4 and 22 of <c>/proc/{pid}/stat</c>, read after the command in parentheses (which may hold spaces and parentheses); null when the process is gone.</summary>
    public static ProcessStat? Read(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        return fields.Length > 19
            && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var parent)
            && ulong.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var startTime)
            ? new ProcessStat(fields[0][0], parent, startTime)
            : null;
    }
}
