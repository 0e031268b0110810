using System.Security.Cryptography.X509Certificates;

namespace CqrsDapr.AppHost.Tests;

/// <summary>
/// Where the query service keeps its views (<c>CqrsDapr:ViewStore</c>): the Dapr state store, a given Cosmos DB
/// account, or the local Cosmos DB stand-in server. The model is built, never started.
/// </summary>
public sealed class ViewStoreChoiceTests : IDisposable
{
    private readonly TestDirectories directories = new();

    public void Dispose() => directories.Dispose();

    [Fact]
    public async Task By_default_the_views_stay_in_the_dapr_state_store_and_no_cosmos_server_runs()
    {
        await using var model = await AppHostModel.BuildAsync(directories.Args());

        Assert.DoesNotContain("cosmos", model.ResourceNames);
        Assert.DoesNotContain((await model.EnvironmentAsync("query-service")).Keys, key => key.StartsWith("ViewStore__", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Cosmos_without_an_account_runs_the_stand_in_over_https_with_a_certificate_the_query_service_pins()
    {
        await using var model = await AppHostModel.BuildAsync(directories.Args("--CqrsDapr:ViewStore=cosmos"));

        var server = model.Executable("cosmos");
        var args = await model.ArgsAsync("cosmos");
        var certificate = Path.Combine(directories.Data, "cosmos", "cert.pem");
        Assert.Equal("server.js", args[0]);
        Assert.Equal(["--port", "{cosmos.https.TargetPort}", "--cert", certificate, "--key", Path.Combine(directories.Data, "cosmos", "key.pem")], args.Skip(1));
        Assert.EndsWith(Path.Combine("tests", "cosmosdb-server"), server.WorkingDirectory, StringComparison.Ordinal);

        var environment = await model.EnvironmentAsync("query-service");
        Assert.Equal("Cosmos", environment["ViewStore__Provider"]);
        Assert.Equal("https://localhost:{cosmos.https.Port}/", environment["ViewStore__Cosmos__Endpoint"]);
        Assert.Equal(certificate, environment["ViewStore__Cosmos__ServerCertificatePath"]);
        Assert.Equal("Gateway", environment["ViewStore__Cosmos__ConnectionMode"]);
        Assert.Equal("true", environment["ViewStore__Cosmos__CreateIfNotExists"]);
        Assert.Contains("cosmos", model.WaitsFor("query-service"));

        using var made = X509Certificate2.CreateFromPem(File.ReadAllText(certificate));
        Assert.True(made.NotAfter > DateTime.Now.AddDays(300));
        Assert.Contains("localhost", made.GetNameInfo(X509NameType.DnsName, forIssuer: false), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_short_command_line_switch_chooses_cosmos_too()
    {
        await using var model = await AppHostModel.BuildAsync(directories.Args("--view-store", "cosmos"));

        Assert.Contains("cosmos", model.ResourceNames);
        Assert.Equal("Cosmos", (await model.EnvironmentAsync("query-service"))["ViewStore__Provider"]);
    }

    [Fact]
    public async Task The_certificate_is_kept_across_runs_of_the_same_data_directory()
    {
        var certificate = Path.Combine(directories.Data, "cosmos", "cert.pem");
        await using (await AppHostModel.BuildAsync(directories.Args("--CqrsDapr:ViewStore=cosmos")))
        {
        }

        var first = await File.ReadAllTextAsync(certificate, TestContext.Current.CancellationToken);
        await using var again = await AppHostModel.BuildAsync(directories.Args("--CqrsDapr:ViewStore=cosmos"));

        Assert.Equal(first, await File.ReadAllTextAsync(certificate, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Cosmos_with_an_account_uses_it_with_the_secret_key_parameter_and_runs_no_stand_in()
    {
        await using var model = await AppHostModel.BuildAsync(directories.Args(
            "--CqrsDapr:ViewStore=cosmos", "--CqrsDapr:Cosmos:Endpoint=https://acct.documents.azure.com:443/", "--Parameters:cosmos-key=k3y"));

        Assert.DoesNotContain("cosmos", model.ResourceNames);
        var environment = await model.EnvironmentAsync("query-service");
        Assert.Equal("https://acct.documents.azure.com:443/", environment["ViewStore__Cosmos__Endpoint"]);
        Assert.Equal("{param:cosmos-key}", environment["ViewStore__Cosmos__AccountKey"]);
        Assert.DoesNotContain("ViewStore__Cosmos__ServerCertificatePath", environment.Keys);
    }

    [Fact]
    public async Task An_unknown_view_store_is_an_error()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => AppHostModel.BuildAsync(directories.Args("--CqrsDapr:ViewStore=mongodb")));

        Assert.Contains("use dapr or cosmos", error.GetBaseException().Message, StringComparison.Ordinal);
    }
}
