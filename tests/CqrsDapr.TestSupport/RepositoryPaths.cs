using System.Reflection;

namespace CqrsDapr.TestSupport;

/// <summary>Locates the repository and the build outputs of its projects.</summary>
public static class RepositoryPaths
{
    private const string SolutionFile = "CqrsDapr.sln";
    private static readonly Lazy<string> RootDirectory = new(FindRoot);

    /// <summary>The directory holding <c>CqrsDapr.sln</c>, found by walking up from <see cref="AppContext.BaseDirectory"/>.</summary>
    public static string Root => RootDirectory.Value;

    /// <summary>The build configuration this assembly was built with (Debug or Release).</summary>
    public static string Configuration { get; } = Metadata("CqrsDapr.Configuration") ??
#if DEBUG
        "Debug";
#else
        "Release";
#endif

    /// <summary>The target framework this assembly was built for (net10.0).</summary>
    public static string TargetFramework { get; } = Metadata("CqrsDapr.TargetFramework") ?? "net10.0";

    /// <summary>
    /// <c>{Root}/src/{projectName}/bin/{Configuration}/{TargetFramework}/{projectName}.dll</c> — the output of a project
    /// built in the same configuration as the tests. Not checked for existence.
    /// </summary>
    public static string ProjectOutput(string projectName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(projectName);
        return Path.Combine(Root, "src", projectName, "bin", Configuration, TargetFramework, projectName + ".dll");
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, SolutionFile)))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException(
            $"No {SolutionFile} found in {AppContext.BaseDirectory} or any parent directory: run the tests from the repository's build output.");
    }

    private static string? Metadata(string key) =>
        typeof(RepositoryPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(attribute => attribute.Key == key)?.Value is { Length: > 0 } value ? value : null;
}
