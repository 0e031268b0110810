using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using CqrsDapr.TestSupport;

namespace CqrsDapr.Deployment.Tests;

/// <summary>A rendered document: the template it came from and the object as the API server decodes it.</summary>
internal sealed record RenderedDocument(string Source, JsonObject Object)
{
    public string Kind => (string?)Object["kind"] ?? "";

    public string Name => (string?)Object["metadata"]?["name"] ?? "";
}

/// <summary>One rendering of the chart: the YAML helm would print, the merged values and the decoded documents.</summary>
internal sealed record Rendering(string ValueSet, string Yaml, JsonObject Values, IReadOnlyList<RenderedDocument> Documents)
{
    public IEnumerable<JsonObject> OfKind(string kind) => Documents.Where(d => d.Kind == kind).Select(d => d.Object);

    public override string ToString() => ValueSet;
}

/// <summary>
/// Renders <c>charts/cqrs-dapr</c> with <c>HelmRender/</c> (a <c>helm template</c> built on Go's text/template and
/// Debian's sprig; see its README.md) and validates objects with <c>chart-schema/</c> (kubernetes-models). The
/// renderer is built once per test run into the test output folder. Missing tools fail the tests with what to install.
/// </summary>
internal static class HelmRenderer
{
    public const string Default = "default";

    /// <summary>The release every rendering is made for.</summary>
    public const string ReleaseName = "cqrs";

    public const string Namespace = "cqrsdapr";

    private static readonly string ProjectPath = Path.Combine(RepositoryPaths.Root, "tests", "CqrsDapr.Deployment.Tests");
    private static readonly Lazy<Task<string>> Binary = new(BuildAsync);
    private static readonly ConcurrentDictionary<string, Lazy<Task<Rendering>>> Renderings = new(StringComparer.Ordinal);

    public static string OverridesPath => Path.Combine(ProjectPath, "chart-values");

    /// <summary>"default" (values.yaml alone) and every override file of <c>chart-values/</c>.</summary>
    public static IReadOnlyList<string> ValueSets =>
        [Default, .. Directory.EnumerateFiles(OverridesPath, "*.yaml").Select(Path.GetFileName).Order(StringComparer.Ordinal).Cast<string>()];

    public static TheoryData<string> ValueSetData => [.. ValueSets];

    /// <summary>The rendering of a value set (rendered once per run); the servicebus set renders as an upgrade.</summary>
    public static Task<Rendering> RenderAsync(string valueSet) =>
        Renderings.GetOrAdd(valueSet, set => new Lazy<Task<Rendering>>(() => RenderOnceAsync(set))).Value;

    /// <summary>Runs the renderer with these arguments (the chart path is appended).</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] arguments)
    {
        var binary = await Binary.Value;
        return await RunProcessAsync(binary, [.. arguments, Path.Combine(RepositoryPaths.Root, "charts", "cqrs-dapr")], stdin: null);
    }

    /// <summary>The schema errors of a rendering's built-in objects (empty when valid).</summary>
    public static async Task<(int ExitCode, string Output)> ValidateSchemasAsync(string valueSet)
    {
        var folder = Path.Combine(ProjectPath, "chart-schema");
        if (!Directory.Exists(Path.Combine(folder, "node_modules", "kubernetes-models")))
        {
            throw new InvalidOperationException(
                $"{folder}/node_modules is missing: build this project again (its build runs npm ci there when npm is installed: apt-get install -y --no-upgrade nodejs npm), or run `npm ci` in {folder}.");
        }

        var (_, json, error) = await RunAsync(RenderArguments(valueSet, json: true));
        Assert.True(error.Length == 0, error);
        var (code, output, errors) = await RunProcessAsync(FindOnPath("node") ?? throw new InvalidOperationException("node not found: install Node.js (apt-get install nodejs npm)"), [Path.Combine(folder, "validate.js")], json);
        return (code, output + errors);
    }

    private static string[] RenderArguments(string valueSet, bool json)
    {
        List<string> arguments = ["--name", ReleaseName, "--namespace", Namespace];
        if (valueSet != Default)
        {
            arguments.AddRange(["-f", Path.Combine(OverridesPath, valueSet)]);
        }

        if (valueSet.StartsWith("servicebus", StringComparison.Ordinal))
        {
            arguments.Add("--is-upgrade");
        }

        if (json)
        {
            arguments.Add("--json");
        }

        return [.. arguments];
    }

    private static async Task<Rendering> RenderOnceAsync(string valueSet)
    {
        var (code, yaml, error) = await RunAsync(RenderArguments(valueSet, json: false));
        Assert.True(code == 0, $"{valueSet}: helm-render failed:\n{error}");
        var (_, json, _) = await RunAsync(RenderArguments(valueSet, json: true));
        var root = JsonNode.Parse(json)!.AsObject();
        var documents = root["documents"]!.AsArray().Select(d => new RenderedDocument((string)d!["source"]!, d["object"]!.AsObject())).ToList();
        return new Rendering(valueSet, yaml, root["values"]!.AsObject(), documents);
    }

    private static async Task<string> BuildAsync()
    {
        if (FindOnPath("go") is null)
        {
            throw new InvalidOperationException("go not found: apt-get install golang-go golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev (see README.md)");
        }

        var output = Path.Combine(AppContext.BaseDirectory, "helm-render");
        var (code, stdout, stderr) = await RunProcessAsync("bash", [Path.Combine(ProjectPath, "HelmRender", "build.sh"), output], stdin: null);
        if (code != 0)
        {
            throw new InvalidOperationException($"building helm-render failed ({code}):\n{stdout}{stderr}");
        }

        return Path.Combine(output, "helm-render");
    }

    private static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, program))
            .FirstOrDefault(File.Exists);

    private static async Task<(int ExitCode, string Output, string Error)> RunProcessAsync(string file, IEnumerable<string> arguments, string? stdin)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }

        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await error);
    }
}
