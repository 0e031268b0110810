using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CqrsDapr.TestSupport;

/// <summary>
/// A throwaway Cosmos DB stand-in (<c>tests/cosmosdb-server</c>: @vercel/cosmosdb-server behind a small launcher) on a
/// free port, over HTTPS with a self-signed certificate made for this run (<see cref="CertificatePath"/>: clients trust
/// exactly that certificate). Its data lives in memory and is gone when it stops.
/// </summary>
public sealed class CosmosDbServer : IAsyncDisposable
{
    /// <summary>What installs the stand-in's npm packages: the build of this project (tests/build/NpmPackages.targets), or npm by hand.</summary>
    public const string InstallHint = "build again (the build runs npm ci in tests/cosmosdb-server when npm is installed), or from the repository root: npm ci --prefix tests/cosmosdb-server";

    private readonly ServerProcess server;
    private readonly TempDirectory directory;

    private CosmosDbServer(string node, string script, TempDirectory directory)
    {
        this.directory = directory;
        CertificatePath = Path.Combine(directory.Path, "cert.pem");
        var keyPath = Path.Combine(directory.Path, "key.pem");
        WriteSelfSignedCertificate(CertificatePath, keyPath);
        using var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(CertificatePath));
        var thumbprint = certificate.GetCertHashString(HashAlgorithmName.SHA256);
        server = new ServerProcess(
            "cosmosdb-server",
            pickPorts: () => Port = FreePort.Next(),
            launch: () => ChildProcess.Start(
                $"cosmosdb-server :{Port}",
                Executables.Command(node, script, "--port", Port.ToString(CultureInfo.InvariantCulture), "--cert", CertificatePath, "--key", keyPath)),
            probe: cancellationToken => ProbeAsync(Endpoint, thumbprint, cancellationToken));
    }

    /// <summary>The TCP port on 127.0.0.1.</summary>
    public int Port { get; private set; }

    /// <summary><c>https://127.0.0.1:{port}/</c>.</summary>
    public Uri Endpoint => new(string.Create(CultureInfo.InvariantCulture, $"https://127.0.0.1:{Port}/"));

    /// <summary>The server accepts any key; a real account's key has this form (base64 of 64 bytes).</summary>
    public static string AccountKey { get; } = Convert.ToBase64String(new byte[64]);

    /// <summary>The PEM file of the server's certificate, the one certificate clients must trust.</summary>
    public string CertificatePath { get; }

    /// <summary>The launcher's folder: <c>tests/cosmosdb-server</c>.</summary>
    public static string Folder => Path.Combine(RepositoryPaths.Root, "tests", "cosmosdb-server");

    public IReadOnlyList<string> Logs => server.Logs;

    /// <summary>Why a server cannot start on this machine (Node.js or the package missing, with what to install), or null.</summary>
    public static string? Unavailable()
    {
        if (Executables.FindOnPath("node") is null)
        {
            return "node was not found on PATH. Install Node.js 20 and npm (apt-get install -y --no-upgrade nodejs npm), then " + InstallHint;
        }

        return Directory.Exists(Path.Combine(Folder, "node_modules", "@vercel", "cosmosdb-server"))
            ? null
            : $"The Cosmos DB stand-in's npm packages are not installed: {InstallHint}.";
    }

    /// <summary>Starts a server; it answers HTTPS on return. Fails with what to install when Node.js or the package is missing.</summary>
    public static async Task<CosmosDbServer> StartAsync(CancellationToken cancellationToken = default)
    {
        if (Unavailable() is { } reason)
        {
            throw new InvalidOperationException(reason);
        }

        var instance = new CosmosDbServer(Executables.FindOnPath("node")!, Path.Combine(Folder, "server.js"), TempDirectory.Create());
        try
        {
            await instance.server.StartAsync(cancellationToken);
            return instance;
        }
        catch
        {
            await instance.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await server.DisposeAsync();
        directory.Dispose();
    }

    /// <summary>An RSA certificate for 127.0.0.1 and localhost, valid for a day, with its unencrypted key, as PEM files.</summary>
    public static void WriteSelfSignedCertificate(string certificatePath, string keyPath)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>True when the server answers its account endpoint over TLS with the expected certificate.</summary>
    private static async Task<bool> ProbeAsync(Uri endpoint, string thumbprint, CancellationToken cancellationToken)
    {
        using var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                    certificate is not null && certificate.GetCertHashString(HashAlgorithmName.SHA256) == thumbprint,
            },
        };
        using var client = new HttpClient(handler);
        using var response = await client.GetAsync(endpoint, cancellationToken);
        return response.IsSuccessStatusCode;
    }
}
