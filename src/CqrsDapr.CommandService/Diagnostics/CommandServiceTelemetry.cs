using System.Diagnostics;

namespace CqrsDapr.CommandService.Diagnostics;

/// <summary>
/// Names of this service's meter and activity source (ServiceDefaults exports every <c>CqrsDapr.*</c> one). Features
/// create their instruments from <see cref="System.Diagnostics.Metrics.IMeterFactory"/> with <see cref="MeterName"/>.
/// </summary>
internal static class CommandServiceTelemetry
{
    public const string MeterName = "CqrsDapr.CommandService";

    public static ActivitySource ActivitySource { get; } = new("CqrsDapr.CommandService");
}
