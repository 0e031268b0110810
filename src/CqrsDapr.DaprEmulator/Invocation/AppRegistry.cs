using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using CqrsDapr.DaprEmulator.Hosting;
using Microsoft.Extensions.Logging;

namespace CqrsDapr.DaprEmulator.Invocation;

/// <summary>
/// Name resolution for service invocation, standing in for daprd's self-hosted mDNS: each running emulator writes
/// <c>{registry}/{appId}/{pid}.json</c> (its HTTP API endpoint and a per-instance key the other sidecars present on
/// the internal hop) and removes it on shutdown; entries whose process is gone (a crash) are ignored and cleaned up.
/// The registry is <c>CQRSDAPR_EMULATOR_REGISTRY</c> when set (the AppHost sets a folder of its data directory; tests
/// a folder of their own), else <see cref="DefaultDirectory"/>: a folder of the resources paths the sidecar reads, so
/// the sidecars of one system (started with the same <c>--resources-path</c>) find each other and unrelated runs on the
/// machine (another checkout, a test's own components) never meet. Several instances of one app-id are called
/// round-robin, as mDNS resolution does.
/// </summary>
internal sealed partial class AppRegistry
{
    public const string DirectoryVariable = "CQRSDAPR_EMULATOR_REGISTRY";

    private readonly ConcurrentDictionary<string, int> roundRobin = new(StringComparer.Ordinal);
    private readonly ILogger<AppRegistry> logger;
    private string? ownFile;

    public AppRegistry(EmulatorOptions options, ILogger<AppRegistry> logger)
    {
        this.logger = logger;
        AppId = options.AppId;
        Directory = Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } dir
            ? dir
            : DefaultDirectory(options.ResourcesPaths, Environment.CurrentDirectory, Environment.UserName);
        InternalKey = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
    }

    public string AppId { get; }

    public string Directory { get; }

    /// <summary>What another sidecar must present on this sidecar's internal invoke endpoint.</summary>
    public string InternalKey { get; }

    /// <summary>
    /// The registry without <c>CQRSDAPR_EMULATOR_REGISTRY</c>: <c>$TMPDIR/cqrsdapr-dapr-emulator/{key}</c>, the key a
    /// hash of the user and the full resources paths (relative ones resolved against the working directory; order and
    /// repeats do not matter), or of the working directory when none is given. Two emulators started from the
    /// repository root with <c>--resources-path ./components</c> share one; a run with other components does not.
    /// </summary>
    public static string DefaultDirectory(IReadOnlyList<string> resourcesPaths, string workingDirectory, string userName)
    {
        ArgumentNullException.ThrowIfNull(resourcesPaths);
        IEnumerable<string> folders = resourcesPaths.Count > 0 ? resourcesPaths : [workingDirectory];
        var identity = string.Join('\n', folders
            .Select(folder => Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder, workingDirectory)))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .Prepend(userName));
        var key = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(identity)))[..16];
        return Path.Combine(Path.GetTempPath(), "cqrsdapr-dapr-emulator", key);
    }

    /// <summary>App-ids are DNS-label-like; anything else can never be registered (and is never a file path).</summary>
    public static bool IsValidAppId(string appId) =>
        appId.Length is > 0 and <= 253 && appId is not ("." or "..") &&
        appId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    /// <summary>Registers this instance once its HTTP API listens on <paramref name="endpoint"/>.</summary>
    public void Register(string endpoint)
    {
        if (!IsValidAppId(AppId))
        {
            LogNotRegistered(logger, AppId);
            return;
        }

        var folder = Path.Combine(Directory, AppId);
        System.IO.Directory.CreateDirectory(folder);
        var self = Process.GetCurrentProcess();
        var entry = new RegistryEntry(AppId, Environment.ProcessId, StartTicks(self) ?? 0, endpoint, InternalKey);
        var file = Path.Combine(folder, $"{Environment.ProcessId}.json");
        var temp = file + ".tmp";
        // Owner-only: the key lets a holder call this app through the sidecar without the app's API token.
        var create = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temp, create))
        {
            JsonSerializer.Serialize(stream, entry, RegistryJson.Default.RegistryEntry);
        }

        File.Move(temp, file, overwrite: true);
        ownFile = file;
        LogRegistered(logger, AppId, endpoint, file);
    }

    public void Unregister()
    {
        if (Interlocked.Exchange(ref ownFile, null) is { } file)
        {
            TryDelete(file);
        }
    }

    /// <summary>The next live instance of <paramref name="appId"/> (round-robin), or null when none runs.</summary>
    public RegistryEntry? Resolve(string appId)
    {
        if (!IsValidAppId(appId))
        {
            return null;
        }

        var folder = Path.Combine(Directory, appId);
        if (!System.IO.Directory.Exists(folder))
        {
            return null;
        }

        var live = new List<RegistryEntry>();
        foreach (var file in System.IO.Directory.EnumerateFiles(folder, "*.json").Order(StringComparer.Ordinal))
        {
            RegistryEntry? entry;
            try
            {
                using var stream = File.OpenRead(file);
                entry = JsonSerializer.Deserialize(stream, RegistryJson.Default.RegistryEntry);
            }
            catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException)
            {
                continue; // being written or removed right now
            }

            if (entry is null)
            {
                continue;
            }

            if (IsAlive(entry))
            {
                live.Add(entry);
            }
            else
            {
                TryDelete(file);
            }
        }

        if (live.Count == 0)
        {
            return null;
        }

        var turn = roundRobin.AddOrUpdate(appId, 0, (_, n) => unchecked(n + 1));
        return live[(int)((uint)turn % (uint)live.Count)];
    }

    private static bool IsAlive(RegistryEntry entry)
    {
        try
        {
            using var process = Process.GetProcessById(entry.Pid);
            // Start times are derived from boot time, which each process computes for itself (Linux: now - uptime), so
            // two processes can see the same start a few milliseconds apart; a reused pid starts much later.
            return process.HasExited is false && (entry.StartTicks == 0 || StartTicks(process) is not { } ticks
                || Math.Abs(ticks - entry.StartTicks) < TimeSpan.TicksPerSecond);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or Win32Exception)
        {
            return false;
        }
    }

    /// <summary>Guards against a reused pid: the registered process's start time must match.</summary>
    private static long? StartTicks(Process process)
    {
        try
        {
            return process.StartTime.ToUniversalTime().Ticks;
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception or NotSupportedException)
        {
            return null;
        }
    }

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Registered app '{AppId}' for service invocation at {Endpoint} ({File}): sidecars find each other when started with the same --resources-path folders or the same CQRSDAPR_EMULATOR_REGISTRY")]
    private static partial void LogRegistered(ILogger logger, string appId, string endpoint, string file);

    [LoggerMessage(Level = LogLevel.Warning, Message = "App id '{AppId}' cannot be resolved by other apps (use letters, digits, '-', '_' and '.'): not registered for service invocation")]
    private static partial void LogNotRegistered(ILogger logger, string appId);
}

/// <summary>One running sidecar in the registry.</summary>
internal sealed record RegistryEntry(string AppId, int Pid, long StartTicks, string Endpoint, string Key);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[System.Text.Json.Serialization.JsonSerializable(typeof(RegistryEntry))]
internal sealed partial class RegistryJson : System.Text.Json.Serialization.JsonSerializerContext;
