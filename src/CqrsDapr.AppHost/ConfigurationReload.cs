namespace CqrsDapr.AppHost;

/// <summary>
/// The .NET processes the AppHost runs (the services, the migrations, the emulator sidecars) read their configuration
/// once at start: nothing they do changes with an edited appsettings file. So they watch no files: each watcher is an
/// inotify instance, and a machine's default allows 128 per user, which a whole system beside a full test run used
/// up ("The configured user limit (128) on the number of inotify instances has been reached").
/// </summary>
internal static class ConfigurationReload
{
    public const string Variable = "DOTNET_hostBuilder__reloadConfigOnChange";

    public static void TurnOff(IDistributedApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        foreach (var resource in builder.Resources.Where(r => r is ProjectResource or ExecutableResource))
        {
            resource.Annotations.Add(new EnvironmentCallbackAnnotation(variables => variables[Variable] = "false"));
        }
    }
}
