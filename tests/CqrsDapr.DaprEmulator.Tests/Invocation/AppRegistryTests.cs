using System.Net;
using System.Text.Json;
using CqrsDapr.DaprEmulator.Invocation;
using CqrsDapr.DaprEmulator.Tests.Infrastructure;
using CqrsDapr.TestSupport;
using Microsoft.AspNetCore.Builder;

namespace CqrsDapr.DaprEmulator.Tests.Invocation;

/// <summary>
/// Where emulators meet for service invocation without <c>CQRSDAPR_EMULATOR_REGISTRY</c>: in a registry of the
/// resources paths they read, so the sidecars of one system started by hand (<c>--resources-path ./components</c> from
/// the repository root) find each other, and unrelated runs on the machine (other components, another checkout) never
/// call each other's apps.
/// </summary>
public sealed class AppRegistryTests : IDisposable
{
    private const string User = "alice";
    private static readonly string Root = Path.Combine(Path.GetTempPath(), "cqrsdapr-tests", "checkout");

    private readonly List<Resources> folders = [];
    private readonly string suffix = Guid.NewGuid().ToString("N")[..8];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Default(string[] resourcesPaths, string workingDirectory = "", string user = User) =>
        AppRegistry.DefaultDirectory(resourcesPaths, workingDirectory.Length > 0 ? workingDirectory : Root, user);

    private Resources Components()
    {
        var resources = new Resources().Component("store", "state.in-memory");
        folders.Add(resources);
        return resources;
    }

    [Fact]
    public void The_same_components_folder_however_written_is_one_registry()
    {
        var absolute = Default([Path.Combine(Root, "components")]);

        Assert.Equal(absolute, Default(["./components"]));
        Assert.Equal(absolute, Default(["components/"]));
        Assert.Equal(absolute, Default(["../components"], Path.Combine(Root, "src")));
        Assert.Equal(absolute, Default(["./components", "components"]));
    }

    [Fact]
    public void Several_folders_are_one_registry_in_any_order()
    {
        Assert.Equal(Default(["./components", "./more"]), Default(["./more", "./components"]));
        Assert.NotEqual(Default(["./components"]), Default(["./components", "./more"]));
    }

    [Fact]
    public void Other_components_another_checkout_or_another_user_is_another_registry()
    {
        var mine = Default(["./components"]);

        Assert.NotEqual(mine, Default(["./components"], Path.Combine(Path.GetTempPath(), "cqrsdapr-tests", "other-checkout")));
        Assert.NotEqual(mine, Default(["./other-components"]));
        Assert.NotEqual(mine, Default(["./components"], user: "bob"));
    }

    [Fact]
    public void Without_resources_paths_the_working_directory_names_the_registry()
    {
        Assert.Equal(Default([], Root), Default([], Root + Path.DirectorySeparatorChar));
        Assert.NotEqual(Default([], Root), Default([], Path.Combine(Root, "src")));
    }

    [Fact]
    public void The_registry_is_a_folder_of_its_own_under_the_temp_directory_never_the_shared_one_of_old()
    {
        var registry = Default(["./components"]);

        Assert.Equal(Path.Combine(Path.GetTempPath(), "cqrsdapr-dapr-emulator"), Path.GetDirectoryName(registry));
        Assert.NotEqual("apps", Path.GetFileName(registry));
        Assert.Matches("^[0-9a-f]{16}$", Path.GetFileName(registry));
    }

    [Fact]
    public async Task Sidecars_started_with_the_same_resources_path_find_each_other_without_a_registry_setting()
    {
        var components = Components();
        await using var callee = await DaprTestHost.StartAsync($"hand-b-{suffix}", components, configureApp: app => app.MapGet("/hello", () => "hi"));
        SkipUnlessEmulator(callee);
        // The other one names the same folder relative to its working directory (TestSupport starts sidecars in the
        // temp directory), as the README's by-hand run does with ./components from the repository root.
        var relative = "./" + Path.GetRelativePath(Path.GetTempPath(), components.Path) + "/";
        await using var caller = await Sidecar.StartAsync(new SidecarOptions { AppId = $"hand-a-{suffix}", ResourcesPaths = [relative], LogLevel = "warn" }, Ct);
        using var http = new HttpClient { BaseAddress = new Uri(caller.HttpEndpoint) };

        using var response = await http.GetAsync(new Uri($"/v1.0/invoke/hand-b-{suffix}/method/hello", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("hi", await response.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task Sidecars_of_unrelated_runs_never_call_each_others_apps_without_a_registry_setting()
    {
        await using var callee = await DaprTestHost.StartAsync($"other-b-{suffix}", Components(), configureApp: app => app.MapGet("/hello", () => "hi"));
        SkipUnlessEmulator(callee);
        await using var caller = await DaprTestHost.StartAsync($"other-a-{suffix}", Components(), withApp: false);
        using var http = new HttpClient { BaseAddress = new Uri(caller.Sidecar.HttpEndpoint) };

        using var response = await http.GetAsync(new Uri($"/v1.0/invoke/other-b-{suffix}/method/hello", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.EndsWith($"couldn't find service: other-b-{suffix}", body.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(callee.AppLog.Snapshot(), request => request.Path == "/hello");
    }

    /// <summary>daprd resolves names through mDNS, not this registry.</summary>
    private static void SkipUnlessEmulator(DaprTestHost host) =>
        Assert.SkipUnless(host.Sidecar.Kind == Sidecar.EmulatorKind, "daprd resolves app-ids through mDNS, not the emulator's registry");

    public void Dispose()
    {
        foreach (var folder in folders)
        {
            folder.Dispose();
        }
    }
}
