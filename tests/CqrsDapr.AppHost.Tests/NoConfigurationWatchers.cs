using System.Runtime.CompilerServices;

namespace CqrsDapr.AppHost.Tests;

/// <summary>
/// The AppHost builders these tests make read their configuration once: without this each one watches its
/// appsettings files, one inotify instance per watcher until the builder is collected, and the machine's default of
/// 128 per user ran out in a full test run ("The configured user limit (128) on the number of inotify instances has
/// been reached"). The processes the AppHost starts get the same setting from it (ConfigurationReload).
/// </summary>
internal static class NoConfigurationWatchers
{
    [ModuleInitializer]
    internal static void TurnOff() => Environment.SetEnvironmentVariable("DOTNET_hostBuilder__reloadConfigOnChange", "false");
}
