namespace CqrsDapr.AppHost.Tests;

/// <summary>Every .NET process the AppHost runs reads its configuration once and watches no files (no inotify instances).</summary>
public sealed class ConfigurationReloadTests : IDisposable
{
    private readonly TestDirectories directories = new();

    public void Dispose() => directories.Dispose();

    [Theory]
    [InlineData("command-service")]
    [InlineData("query-service")]
    [InlineData("gateway")]
    [InlineData("migrations")]
    [InlineData("command-service-dapr")]
    [InlineData("query-service-dapr")]
    public async Task The_process_does_not_reload_its_configuration(string resource)
    {
        await using var model = await AppHostModel.BuildAsync(directories.Args());

        var environment = await model.EnvironmentAsync(resource);

        Assert.Equal("false", environment[ConfigurationReload.Variable]);
    }
}
