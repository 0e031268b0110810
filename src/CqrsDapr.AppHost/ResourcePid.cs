using System.Globalization;

namespace CqrsDapr.AppHost;

/// <summary>The process id Aspire reports for a resource (an executable's or a project's), once it has one.</summary>
internal static class ResourcePid
{
    private static readonly string[] Properties = ["executable.pid", "project.pid"];

    public static int? Of(CustomResourceSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var value = snapshot.Properties.FirstOrDefault(p => Properties.Contains(p.Name))?.Value;
        return int.TryParse(Convert.ToString(value, CultureInfo.InvariantCulture), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0
            ? pid
            : null;
    }
}
