using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CqrsDapr.AppHost;

/// <summary>
/// The query service on Azure Cosmos DB (<c>CqrsDapr:ViewStore</c> = <c>cosmos</c>). With <c>CqrsDapr:Cosmos:Endpoint</c>
/// (a real account, or Microsoft's emulator) and the secret parameter <c>cosmos-key</c>, it uses that account; otherwise
/// it runs the stand-in server of <c>tests/cosmosdb-server</c> (Node.js, @vercel/cosmosdb-server, in memory: its
/// views are gone when it stops, and the projection rebuilds them only on request) over HTTPS with a certificate made
/// for this data directory, which the query service pins.
/// </summary>
internal static class CosmosViewStore
{
    public const string ResourceName = "cosmos";
    private const string EndpointName = "https";
    private const string InstallHint = "the AppHost's build runs npm ci in tests/cosmosdb-server when npm is installed (or by hand: npm ci --prefix tests/cosmosdb-server)";

    /// <summary>
    /// True when the settings ask for the Cosmos DB view store (<c>CqrsDapr:ViewStore</c>, or <c>--view-store</c> on the
    /// command line); false for the Dapr state store (the default).
    /// </summary>
    public static bool IsChosen(IConfiguration configuration) =>
        (configuration["CqrsDapr:ViewStore"] ?? configuration["view-store"])?.ToLowerInvariant() switch
        {
            null or "" or "dapr" => false,
            "cosmos" => true,
            var other => throw new InvalidOperationException($"CqrsDapr:ViewStore '{other}' is not a view store: use dapr or cosmos."),
        };

    /// <summary>True when the settings choose Cosmos DB without an account: the AppHost runs the local stand-in server.</summary>
    public static bool RunsStandIn(IConfiguration configuration) =>
        IsChosen(configuration) && configuration["CqrsDapr:Cosmos:Endpoint"] is not { Length: > 0 };

    /// <summary>The stand-in's folder: <c>tests/cosmosdb-server</c>.</summary>
    public static string StandInFolder(string repositoryRoot) => Path.Combine(repositoryRoot, "tests", "cosmosdb-server");

    /// <summary>True when the stand-in's npm packages are installed (<c>tests/cosmosdb-server/node_modules</c>).</summary>
    public static bool IsStandInInstalled(string repositoryRoot) =>
        Directory.Exists(Path.Combine(StandInFolder(repositoryRoot), "node_modules", "@vercel", "cosmosdb-server"));

    public static void Use(IDistributedApplicationBuilder builder, IResourceBuilder<ProjectResource> queryService, string repositoryRoot, string dataRoot)
    {
        queryService
            .WithEnvironment("ViewStore__Provider", "Cosmos")
            .WithEnvironment("ViewStore__Cosmos__CreateIfNotExists", "true");
        if (builder.Configuration["CqrsDapr:Cosmos:Endpoint"] is { Length: > 0 } account)
        {
            var key = builder.AddParameter("cosmos-key", secret: true);
            queryService
                .WithEnvironment("ViewStore__Cosmos__Endpoint", account)
                .WithEnvironment("ViewStore__Cosmos__AccountKey", key);
            return;
        }

        var server = AddStandIn(builder, repositoryRoot, dataRoot);
        var endpoint = server.Resource.GetEndpoint(EndpointName);
        queryService
            .WithEnvironment("ViewStore__Cosmos__Endpoint", ReferenceExpression.Create($"https://localhost:{endpoint.Property(EndpointProperty.Port)}/"))
            .WithEnvironment("ViewStore__Cosmos__AccountKey", Convert.ToBase64String(RandomNumberGenerator.GetBytes(64))) // any key opens the stand-in
            .WithEnvironment("ViewStore__Cosmos__ConnectionMode", "Gateway")
            .WithEnvironment("ViewStore__Cosmos__LimitToEndpoint", "true")
            .WithEnvironment("ViewStore__Cosmos__ServerCertificatePath", CertificatePath(dataRoot))
            // The stand-in compiles and scans every query in JavaScript (a few hundred ms): the default threshold would
            // log every list with its diagnostics.
            .WithEnvironment("ViewStore__Cosmos__DiagnosticsThreshold", "00:00:02")
            .WaitFor(server);
    }

    private static string CertificatePath(string dataRoot) => Path.Combine(dataRoot, ResourceName, "cert.pem");

    private static IResourceBuilder<ExecutableResource> AddStandIn(IDistributedApplicationBuilder builder, string repositoryRoot, string dataRoot)
    {
        var folder = StandInFolder(repositoryRoot);
        var node = ServerBinaries.FindOnPath("node") ?? throw new InvalidOperationException(
            $"CqrsDapr:ViewStore=cosmos runs a local Cosmos DB stand-in on Node.js, and node was not found on PATH. Install Node.js 20 and npm (apt-get install -y --no-upgrade nodejs npm): {InstallHint}");
        if (!IsStandInInstalled(repositoryRoot))
        {
            throw new InvalidOperationException($"The local Cosmos DB stand-in's npm packages are not installed: {InstallHint}.");
        }

        var certificate = CertificatePath(dataRoot);
        var key = Path.Combine(Path.GetDirectoryName(certificate)!, "key.pem");
        EnsureCertificate(certificate, key);

        var server = builder.AddExecutable(ResourceName, node, folder)
            .WithHttpsEndpoint(name: EndpointName, isProxied: false);
        var endpoint = server.GetEndpoint(EndpointName);
        var healthCheck = $"{ResourceName}-answers";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            healthCheck, _ => new AnswersHealthCheck(endpoint, certificate), failureStatus: null, tags: null));
        return server
            .WithArgs("server.js", "--port", endpoint.Property(EndpointProperty.TargetPort), "--cert", certificate, "--key", key)
            .WithHealthCheck(healthCheck);
    }

    /// <summary>A self-signed certificate for localhost and 127.0.0.1 in the data directory, renewed when under a week is left.</summary>
    private static void EnsureCertificate(string certificatePath, string keyPath)
    {
        if (File.Exists(certificatePath) && File.Exists(keyPath))
        {
            using var existing = X509Certificate2.CreateFromPem(File.ReadAllText(certificatePath));
            if (existing.NotAfter > DateTime.Now.AddDays(7))
            {
                return;
            }
        }

        Directory.CreateDirectory(Path.GetDirectoryName(certificatePath)!);
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(1));
        File.WriteAllText(keyPath, rsa.ExportPkcs8PrivateKeyPem());
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.WriteAllText(certificatePath, created.ExportCertificatePem());
    }

    /// <summary>Healthy once the stand-in answers its account endpoint over TLS with this data directory's certificate.</summary>
    private sealed class AnswersHealthCheck(EndpointReference endpoint, string certificatePath) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            using var pinned = X509Certificate2.CreateFromPem(File.ReadAllText(certificatePath));
            using var handler = new SocketsHttpHandler
            {
                SslOptions = new SslClientAuthenticationOptions
                {
                    RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetRawCertData().AsSpan().SequenceEqual(pinned.RawData),
                },
            };
            using var client = new HttpClient(handler);
            try
            {
                using var response = await client.GetAsync(new Uri($"https://localhost:{endpoint.Port}/"), cancellationToken);
                return response.IsSuccessStatusCode ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy($"The Cosmos DB stand-in answered {(int)response.StatusCode}.");
            }
            catch (HttpRequestException exception)
            {
                return HealthCheckResult.Unhealthy("The Cosmos DB stand-in does not answer yet.", exception);
            }
        }
    }
}
