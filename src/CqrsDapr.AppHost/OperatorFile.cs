using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CqrsDapr.AppHost;

/// <summary>
/// <c>operator.env</c> in the data directory: the address of the query service's sidecar and this run's
/// <c>DAPR_API_TOKEN</c>, for operator calls from a shell (<c>docs/tools/ops.sh rebuild|status|dead-letters</c>)
/// without the dashboard, which is the only other place the token shows. Written (owner-only, mode 0600) once the
/// query service is healthy, removed when the AppHost stops; a file left by a killed AppHost names its process id, so
/// a reader can tell it is stale.
/// </summary>
internal sealed class OperatorFile(string path) : IHostedService
{
    public const string FileName = "operator.env";

    /// <summary>The keys, one <c>KEY=value</c> line each (values are letters, digits and URL characters only).</summary>
    public const string PidKey = "CQRSDAPR_APPHOST_PID";
    public const string AppIdKey = "CQRSDAPR_QUERY_APP_ID";
    public const string SidecarKey = "CQRSDAPR_QUERY_SIDECAR";
    public const string TokenKey = "DAPR_API_TOKEN";

    public string Path { get; } = path;

    public static void Add(IDistributedApplicationBuilder builder, IResourceBuilder<ProjectResource> queryService, OperatorCommands.SidecarCall sidecar, string path)
    {
        if (!builder.ExecutionContext.IsRunMode)
        {
            return;
        }

        var file = new OperatorFile(path);
        builder.Services.AddHostedService(_ => file);
        builder.Eventing.Subscribe<ResourceReadyEvent>(queryService.Resource, async (_, cancellationToken) =>
            file.Write(sidecar.AppId, await sidecar.AddressAsync(cancellationToken), await sidecar.TokenAsync(cancellationToken)));
    }

    public void Write(string appId, string sidecarAddress, string token)
    {
        var text = new StringBuilder()
            .AppendLine("# Written by the CqrsDapr AppHost once the query service is healthy, removed when the AppHost stops.")
            .AppendLine("# Operator calls through the query service's sidecar: docs/tools/ops.sh rebuild|status|dead-letters.")
            .AppendLine(CultureInfo.InvariantCulture, $"{PidKey}={Environment.ProcessId}")
            .AppendLine(CultureInfo.InvariantCulture, $"{AppIdKey}={appId}")
            .AppendLine(CultureInfo.InvariantCulture, $"{SidecarKey}={sidecarAddress}")
            .AppendLine(CultureInfo.InvariantCulture, $"{TokenKey}={token}")
            .ToString();
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        var temporary = Path + ".tmp";
        var create = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite; // the token calls every sidecar API
        }

        File.Delete(temporary); // a leftover would keep its mode: the mode applies to files created here only
        using (var stream = new FileStream(temporary, create))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(text);
        }

        File.Move(temporary, Path, overwrite: true);
    }

    public void Remove() => File.Delete(Path);

    /// <summary>
    /// Nothing: a file found here is another run's, either killed (the next write replaces it) or still running (a
    /// second AppHost on the same data directory, refused at start, must not take the first one's file away).
    /// </summary>
    Task IHostedService.StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    Task IHostedService.StopAsync(CancellationToken cancellationToken)
    {
        Remove();
        return Task.CompletedTask;
    }
}
