using System.Globalization;
using System.Text;
using CqrsDapr.DaprEmulator.Components;
using Npgsql;

namespace CqrsDapr.DaprEmulator.State;

/// <summary>
/// Reads a connection string the way daprd's driver (pgx v5 <c>pgxpool.ParseConfig</c>) does and turns it into Npgsql
/// settings. Only pgx's two forms are accepted: a URL (<c>postgres://user:pass@host:5432/db?sslmode=disable</c>) or
/// libpq keyword/value pairs (<c>host=localhost port=5432 user=postgres dbname=dapr</c>, keywords case-sensitive).
/// An Npgsql-style <c>Host=…;Username=…</c> string is not valid for daprd, so it is not valid here either. Keywords pgx
/// does not know are sent to the server as run-time parameters, as pgx does.
/// </summary>
internal sealed record PgxConnectionString(NpgsqlConnectionStringBuilder Npgsql)
{
    // pgconn's notRuntimeParams: keywords consumed by the driver (everything else goes to the server).
    private static readonly HashSet<string> DriverKeywords = new(StringComparer.Ordinal)
    {
        "host", "port", "database", "user", "password", "passfile", "connect_timeout", "sslmode", "sslkey", "sslcert",
        "sslrootcert", "sslpassword", "sslsni", "krbspn", "krbsrvname", "target_session_attrs", "service", "servicefile",
        "sslnegotiation", "min_read_buffer_size", "statement_cache_capacity", "description_cache_capacity",
        "default_query_exec_mode", "pool_max_conns", "pool_min_conns", "pool_max_conn_lifetime",
        "pool_max_conn_idle_time", "pool_health_check_period", "pool_max_conn_lifetime_jitter", "pool_min_idle_conns",
        "channel_binding", "require_auth", "min_protocol_version", "max_protocol_version",
    };

    private const string Whitespace = " \t\n\r\v\f";

    /// <summary>Pool size from <c>pool_max_conns</c>, if set.</summary>
    public int? MaxConns { get; private init; }

    /// <summary>Throws <see cref="FormatException"/> with pgx's wording when pgx would refuse the string.</summary>
    public static PgxConnectionString Parse(string connectionString)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        var settings = DefaultSettings();
        var given = connectionString.StartsWith("postgres://", StringComparison.Ordinal) || connectionString.StartsWith("postgresql://", StringComparison.Ordinal)
            ? ParseUrl(connectionString)
            : ParseKeywordValue(connectionString);
        foreach (var (key, value) in given)
        {
            settings[key] = value;
        }

        return Build(settings);
    }

    private static Dictionary<string, string> DefaultSettings()
    {
        // pgconn defaultSettings + PG* environment variables.
        var settings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["host"] = DefaultHost(),
            ["port"] = "5432",
            ["user"] = Environment.UserName,
            ["sslmode"] = "prefer",
        };
        foreach (var (variable, key) in new[]
        {
            ("PGHOST", "host"), ("PGPORT", "port"), ("PGDATABASE", "database"), ("PGUSER", "user"), ("PGPASSWORD", "password"),
            ("PGPASSFILE", "passfile"), ("PGAPPNAME", "application_name"), ("PGCONNECT_TIMEOUT", "connect_timeout"),
            ("PGSSLMODE", "sslmode"), ("PGSSLKEY", "sslkey"), ("PGSSLCERT", "sslcert"), ("PGSSLROOTCERT", "sslrootcert"),
            ("PGTARGETSESSIONATTRS", "target_session_attrs"),
        })
        {
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value)
            {
                settings[key] = value;
            }
        }

        return settings;
    }

    private static string DefaultHost()
    {
        foreach (var path in new[] { "/var/run/postgresql", "/private/tmp", "/tmp" })
        {
            if (Directory.Exists(path))
            {
                return path;
            }
        }

        return "localhost";
    }

    private static Dictionary<string, string> ParseUrl(string text)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        var rest = text[(text.IndexOf("://", StringComparison.Ordinal) + 3)..];
        var fragment = rest.IndexOf('#', StringComparison.Ordinal);
        if (fragment >= 0)
        {
            rest = rest[..fragment];
        }

        var query = "";
        var q = rest.IndexOf('?', StringComparison.Ordinal);
        if (q >= 0)
        {
            query = rest[(q + 1)..];
            rest = rest[..q];
        }

        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var authority = slash >= 0 ? rest[..slash] : rest;
        var path = slash >= 0 ? rest[slash..] : "";
        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            var userInfo = authority[..at];
            authority = authority[(at + 1)..];
            var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
            settings["user"] = Unescape(colon >= 0 ? userInfo[..colon] : userInfo, plusIsSpace: false);
            if (colon >= 0)
            {
                settings["password"] = Unescape(userInfo[(colon + 1)..], plusIsSpace: false);
            }
        }

        var hosts = new List<string>();
        var ports = new List<string>();
        foreach (var part in authority.Split(','))
        {
            if (part.Length == 0)
            {
                continue;
            }

            if (part.StartsWith('[') && part.EndsWith(']'))
            {
                hosts.Add(part.Trim('[', ']'));
                continue;
            }

            var colon = part.StartsWith('[') ? part.IndexOf("]:", StringComparison.Ordinal) + 1 : part.LastIndexOf(':');
            if (colon <= 0)
            {
                hosts.Add(Unescape(part, plusIsSpace: false));
                continue;
            }

            var host = part[..colon].Trim('[', ']');
            if (host.Length > 0)
            {
                hosts.Add(Unescape(host, plusIsSpace: false));
            }

            if (colon + 1 < part.Length)
            {
                ports.Add(part[(colon + 1)..]);
            }
        }

        if (hosts.Count > 0)
        {
            settings["host"] = string.Join(',', hosts);
        }

        if (ports.Count > 0)
        {
            settings["port"] = string.Join(',', ports);
        }

        var database = Unescape(path.TrimStart('/'), plusIsSpace: false);
        if (database.Length > 0)
        {
            settings["database"] = database;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Unescape(eq >= 0 ? pair[..eq] : pair, plusIsSpace: true);
            var value = eq >= 0 ? Unescape(pair[(eq + 1)..], plusIsSpace: true) : "";
            key = key == "dbname" ? "database" : key;

            // url.Values keeps every value; pgx takes the first.
            if (seen.Add(key))
            {
                settings[key] = value;
            }
        }

        return settings;
    }

    private static string Unescape(string value, bool plusIsSpace) =>
        Uri.UnescapeDataString(plusIsSpace ? value.Replace('+', ' ') : value);

    /// <summary>libpq keyword/value syntax as pgconn's <c>parseKeywordValueSettings</c> reads it.</summary>
    private static Dictionary<string, string> ParseKeywordValue(string text)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        var s = text.AsSpan();
        while (true)
        {
            s = s.TrimStart(Whitespace);
            if (s.IsEmpty)
            {
                break;
            }

            var eq = s.IndexOf('=');
            if (eq < 0)
            {
                throw new FormatException("cannot parse connection string: invalid keyword/value");
            }

            var key = s[..eq].Trim(Whitespace).ToString();
            s = s[(eq + 1)..].TrimStart(Whitespace);
            string value;
            if (s.IsEmpty)
            {
                value = "";
            }
            else if (s[0] != '\'')
            {
                var end = 0;
                for (; end < s.Length; end++)
                {
                    if (Whitespace.Contains(s[end], StringComparison.Ordinal))
                    {
                        break;
                    }

                    if (s[end] == '\\')
                    {
                        end++;
                        if (end == s.Length)
                        {
                            throw new FormatException("cannot parse connection string: invalid backslash");
                        }
                    }
                }

                value = Unquote(s[..end]);
                s = end == s.Length ? [] : s[(end + 1)..];
            }
            else
            {
                s = s[1..];
                var end = 0;
                for (; end < s.Length; end++)
                {
                    if (s[end] == '\'')
                    {
                        break;
                    }

                    if (s[end] == '\\')
                    {
                        end++;
                    }
                }

                if (end >= s.Length)
                {
                    throw new FormatException("cannot parse connection string: unterminated quoted string in connection info string");
                }

                value = Unquote(s[..end]);
                s = end + 1 >= s.Length ? [] : s[(end + 1)..];
            }

            key = key == "dbname" ? "database" : key;
            if (key.Length == 0)
            {
                throw new FormatException("cannot parse connection string: invalid keyword/value");
            }

            settings[key] = value;
        }

        return settings;
    }

    private static string Unquote(ReadOnlySpan<char> raw) =>
        raw.ToString().Replace("\\\\", "\\", StringComparison.Ordinal).Replace("\\'", "'", StringComparison.Ordinal);

    private static PgxConnectionString Build(Dictionary<string, string> settings)
    {
        var builder = new NpgsqlConnectionStringBuilder();
        var hosts = settings["host"].Split(',');
        var ports = settings["port"].Split(',');
        if (ports.Length != 1 && ports.Length != hosts.Length)
        {
            throw new FormatException("cannot parse connection string: could not match port to host");
        }

        var endpoints = new List<string>(hosts.Length);
        for (var i = 0; i < hosts.Length; i++)
        {
            var port = ports.Length == 1 ? ports[0] : ports[i];
            if (!ushort.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var portNumber) || portNumber == 0)
            {
                throw new FormatException($"cannot parse connection string: invalid port ({port})");
            }

            endpoints.Add(hosts[i].Contains(':', StringComparison.Ordinal) ? $"[{hosts[i]}]:{portNumber}" : $"{hosts[i]}:{portNumber}");
        }

        if (hosts.Length == 1)
        {
            // A single host may be a Unix socket directory, which takes no ":port" suffix.
            builder.Host = hosts[0];
            builder.Port = int.Parse(ports[0], CultureInfo.InvariantCulture);
        }
        else
        {
            builder.Host = string.Join(',', endpoints);
        }
        builder.Username = settings["user"];
        if (settings.TryGetValue("password", out var password))
        {
            builder.Password = password;
        }

        if (settings.TryGetValue("database", out var database) && database.Length > 0)
        {
            builder.Database = database;
        }

        if (settings.TryGetValue("passfile", out var passfile))
        {
            builder.Passfile = passfile;
        }

        if (settings.TryGetValue("connect_timeout", out var connectTimeout))
        {
            if (!int.TryParse(connectTimeout, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            {
                throw new FormatException("cannot parse connection string: invalid connect_timeout");
            }

            builder.Timeout = Math.Min(seconds, 1024);
        }

        builder.SslMode = settings["sslmode"] switch
        {
            "disable" => SslMode.Disable,
            "allow" => SslMode.Allow,
            "prefer" => SslMode.Prefer,
            "require" => SslMode.Require,
            "verify-ca" => SslMode.VerifyCA,
            "verify-full" => SslMode.VerifyFull,
            _ => throw new FormatException("cannot parse connection string: sslmode is invalid"),
        };
        if (settings.TryGetValue("sslrootcert", out var rootCert))
        {
            builder.RootCertificate = rootCert;
        }

        if (settings.TryGetValue("sslcert", out var cert))
        {
            builder.SslCertificate = cert;
        }

        if (settings.TryGetValue("sslkey", out var key))
        {
            builder.SslKey = key;
        }

        if (settings.TryGetValue("sslpassword", out var sslPassword))
        {
            builder.SslPassword = sslPassword;
        }

        if (settings.TryGetValue("krbsrvname", out var kerberos))
        {
            builder.KerberosServiceName = kerberos;
        }

        if (settings.TryGetValue("target_session_attrs", out var targetSession) && targetSession != "any")
        {
            builder.TargetSessionAttributes = targetSession;
        }

        int? maxConns = null;
        if (settings.TryGetValue("pool_max_conns", out var poolMax))
        {
            maxConns = int.TryParse(poolMax, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1
                ? n
                : throw new FormatException("cannot parse connection string: invalid pool_max_conns");
        }

        if (settings.TryGetValue("pool_min_conns", out var poolMin))
        {
            builder.MinPoolSize = int.TryParse(poolMin, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
                ? n
                : throw new FormatException("cannot parse connection string: invalid pool_min_conns");
        }

        if (settings.TryGetValue("pool_max_conn_lifetime", out var lifetime))
        {
            builder.ConnectionLifetime = (int)GoDuration.Parse(lifetime).TotalSeconds;
        }

        if (settings.TryGetValue("pool_max_conn_idle_time", out var idle))
        {
            builder.ConnectionIdleLifetime = Math.Max(1, (int)GoDuration.Parse(idle).TotalSeconds);
        }

        // Everything pgx does not consume is a server run-time parameter sent at connection start.
        var options = new StringBuilder();
        foreach (var (name, value) in settings)
        {
            if (DriverKeywords.Contains(name))
            {
                continue;
            }

            switch (name)
            {
                case "application_name":
                    builder.ApplicationName = value;
                    break;
                case "search_path":
                    builder.SearchPath = value;
                    break;
                default:
                    options.Append(options.Length == 0 ? "" : " ").Append("-c ").Append(name).Append('=')
                        .Append(value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace(" ", "\\ ", StringComparison.Ordinal));
                    break;
            }
        }

        if (options.Length > 0)
        {
            builder.Options = options.ToString();
        }

        return new PgxConnectionString(builder) { MaxConns = maxConns };
    }
}
