using System.Globalization;

namespace CqrsDapr.DaprEmulator.Hosting;

/// <summary>
/// Parses daprd's command line (Go <c>flag</c> package syntax, daprd 1.16): <c>-name value</c>, <c>--name value</c>,
/// <c>--name=value</c>; boolean flags may stand alone. Unknown flags are an error, as in daprd.
/// </summary>
internal static class CommandLine
{
    private static readonly HashSet<string> BooleanFlags = new(StringComparer.Ordinal)
    {
        "log-as-json", "enable-api-logging", "enable-metrics", "enable-profiling", "enable-mtls",
        "enable-app-health-check", "app-ssl", "disable-builtin-k8s-secret-store", "version",
    };

    /// <summary>Flags daprd has that change nothing the emulator does; accepted with a warning.</summary>
    private static readonly HashSet<string> IgnoredFlags = new(StringComparer.Ordinal)
    {
        "placement-host-address", "scheduler-host-address", "dapr-internal-grpc-port", "metrics-port",
        "enable-metrics", "enable-profiling", "profile-port", "mode", "enable-mtls", "sentry-address",
        "control-plane-address", "app-health-check-path", "app-health-probe-interval", "app-health-probe-timeout",
        "app-health-threshold", "enable-app-health-check", "dapr-graceful-shutdown-seconds", "dapr-block-shutdown-duration",
        "dapr-http-max-request-size", "dapr-http-read-buffer-size", "max-body-size", "read-buffer-size",
        "unix-domain-socket", "app-ssl", "disable-builtin-k8s-secret-store", "dapr-public-port", "dapr-public-listen-address",
        "dapr-internal-grpc-listen-address", "metrics-listen-address", "kubeconfig", "allowed-origins",
    };

    public static EmulatorOptions Parse(IReadOnlyList<string> args, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);

        var values = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith('-') || arg == "-" || arg == "--")
            {
                throw new CommandLineException($"unexpected argument '{arg}'");
            }

            var name = arg.TrimStart('-');
            string? value = null;
            var eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }
            else if (BooleanFlags.Contains(name))
            {
                value = "true";
            }
            else
            {
                if (i + 1 >= args.Count)
                {
                    throw new CommandLineException($"flag needs an argument: -{name}");
                }

                value = args[++i];
            }

            if (!values.TryGetValue(name, out var list))
            {
                values[name] = list = [];
            }

            list.Add(value);
        }

        string? Last(string name) => values.TryGetValue(name, out var v) ? v[^1] : null;

        var known = new HashSet<string>(StringComparer.Ordinal)
        {
            "app-id", "app-port", "app-protocol", "app-channel-address", "dapr-http-port", "dapr-grpc-port",
            "resources-path", "components-path", "config", "log-level", "log-as-json", "enable-api-logging",
            "dapr-api-token", "app-max-concurrency", "dapr-listen-addresses", "version",
        };
        var unknown = values.Keys.Where(k => !known.Contains(k) && !IgnoredFlags.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            throw new CommandLineException($"flag provided but not defined: -{unknown[0]}");
        }

        var protocol = Last("app-protocol") ?? "http";
        if (protocol is not "http")
        {
            throw new CommandLineException(
                $"app protocol '{protocol}' is not emulated: the emulator speaks to apps over http only");
        }

        var logLevel = (Last("log-level") ?? "info").ToLowerInvariant();
        if (logLevel is not ("debug" or "info" or "warn" or "error" or "fatal"))
        {
            throw new CommandLineException($"invalid log level '{logLevel}': use debug, info, warn, error or fatal");
        }

        var resources = new List<string>();
        foreach (var flag in new[] { "resources-path", "components-path" })
        {
            if (values.TryGetValue(flag, out var paths))
            {
                resources.AddRange(paths);
            }
        }

        var listen = Last("dapr-listen-addresses");
        return new EmulatorOptions
        {
            AppId = Last("app-id") ?? "",
            AppPort = ParsePort(Last("app-port"), "app-port", allowEmpty: true),
            AppProtocol = protocol,
            AppChannelAddress = Last("app-channel-address") ?? "127.0.0.1",
            HttpPort = ParsePort(Last("dapr-http-port"), "dapr-http-port", allowEmpty: false) ?? 3500,
            GrpcPort = ParsePort(Last("dapr-grpc-port"), "dapr-grpc-port", allowEmpty: false) ?? 50001,
            ListenAddresses = string.IsNullOrWhiteSpace(listen)
                ? ["127.0.0.1"]
                : listen.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            ResourcesPaths = resources,
            ConfigPath = Last("config"),
            LogLevel = logLevel,
            LogAsJson = IsTrue(Last("log-as-json")),
            EnableApiLogging = IsTrue(Last("enable-api-logging")),
            // daprd reads the API token from the environment only; the flag is the emulator's convenience.
            ApiToken = NullIfEmpty(Last("dapr-api-token")) ?? NullIfEmpty(environment("DAPR_API_TOKEN")),
            AppApiToken = NullIfEmpty(environment("APP_API_TOKEN")),
            AppMaxConcurrency = int.TryParse(Last("app-max-concurrency"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var c) ? c : -1,
            Namespace = environment("NAMESPACE") ?? "",
            IgnoredFlags = values.Keys.Where(IgnoredFlags.Contains).ToList(),
        };
    }

    private static bool IsTrue(string? value) => bool.TryParse(value, out var b) && b;

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static int? ParsePort(string? value, string flag, bool allowEmpty)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var port) || port is < 0 or > 65535)
        {
            throw new CommandLineException($"invalid value \"{value}\" for flag -{flag}: parse error");
        }

        return port == 0 && allowEmpty ? null : port;
    }
}

internal sealed class CommandLineException(string message) : Exception(message);
