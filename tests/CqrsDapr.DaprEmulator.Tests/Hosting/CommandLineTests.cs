using CqrsDapr.DaprEmulator.Hosting;

namespace CqrsDapr.DaprEmulator.Tests.Hosting;

public sealed class CommandLineTests
{
    private static readonly Func<string, string?> NoEnvironment = _ => null;

    [Fact]
    public void Daprd_flags_are_read_in_every_go_flag_form()
    {
        var options = CommandLine.Parse(
            ["--app-id", "orders", "-app-port", "5000", "--dapr-http-port=3600", "--dapr-grpc-port", "50010",
             "--resources-path", "/a", "--components-path", "/b", "--resources-path=/c", "--log-level", "debug",
             "--app-protocol", "http", "--config", "/cfg.yaml", "--log-as-json", "--app-max-concurrency", "4"],
            NoEnvironment);

        Assert.Equal("orders", options.AppId);
        Assert.Equal(5000, options.AppPort);
        Assert.Equal(3600, options.HttpPort);
        Assert.Equal(50010, options.GrpcPort);
        Assert.Equal(["/a", "/c", "/b"], options.ResourcesPaths);
        Assert.Equal("debug", options.LogLevel);
        Assert.Equal("/cfg.yaml", options.ConfigPath);
        Assert.True(options.LogAsJson);
        Assert.Equal(4, options.AppMaxConcurrency);
    }

    [Fact]
    public void Defaults_are_daprds()
    {
        var options = CommandLine.Parse([], NoEnvironment);

        Assert.Equal(3500, options.HttpPort);
        Assert.Equal(50001, options.GrpcPort);
        Assert.Null(options.AppPort);
        Assert.Equal("info", options.LogLevel);
        Assert.Equal(-1, options.AppMaxConcurrency);
    }

    [Fact]
    public void An_unknown_flag_is_an_error_as_in_daprd()
    {
        var error = Assert.Throws<CommandLineException>(() => CommandLine.Parse(["--app-id", "a", "--no-such-flag", "1"], NoEnvironment));
        Assert.Equal("flag provided but not defined: -no-such-flag", error.Message);
    }

    [Fact]
    public void Flags_daprd_has_but_the_emulator_does_not_need_are_accepted_and_reported()
    {
        var options = CommandLine.Parse(["--placement-host-address", "localhost:50005", "--enable-metrics", "--metrics-port", "9091"], NoEnvironment);
        Assert.Equal(["placement-host-address", "enable-metrics", "metrics-port"], options.IgnoredFlags);
    }

    [Theory]
    [InlineData("grpc")]
    [InlineData("https")]
    public void App_protocols_other_than_http_are_refused_clearly(string protocol)
    {
        var error = Assert.Throws<CommandLineException>(() => CommandLine.Parse(["--app-protocol", protocol], NoEnvironment));
        Assert.Contains("http only", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Api_tokens_come_from_the_environment_like_daprd_and_the_flag_wins()
    {
        var env = new Dictionary<string, string> { ["DAPR_API_TOKEN"] = "from-env", ["APP_API_TOKEN"] = "app-token" };
        var fromEnv = CommandLine.Parse([], k => env.GetValueOrDefault(k));
        var fromFlag = CommandLine.Parse(["--dapr-api-token", "from-flag"], k => env.GetValueOrDefault(k));

        Assert.Equal("from-env", fromEnv.ApiToken);
        Assert.Equal("app-token", fromEnv.AppApiToken);
        Assert.Equal("from-flag", fromFlag.ApiToken);
    }

    [Fact]
    public void A_port_that_is_not_a_number_is_an_error()
    {
        var error = Assert.Throws<CommandLineException>(() => CommandLine.Parse(["--dapr-http-port", "abc"], NoEnvironment));
        Assert.Contains("-dapr-http-port", error.Message, StringComparison.Ordinal);
    }
}
