using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using Aspire.Hosting;
using Aspire.Hosting.Testing;

namespace CqrsDapr.AppHost.Tests;

/// <summary>
/// The AppHost's fixed ports: the dashboard's are settings like the gateway's (<c>CqrsDapr:Ports:*</c>), and a port
/// another process holds stops the start, before any process runs, with the port and the setting that moves it.
/// </summary>
public sealed class AppHostPortsTests : IDisposable
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromMinutes(2);
    private readonly TestDirectories directories = new();
    private readonly List<TcpListener> occupied = [];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        foreach (var listener in occupied)
        {
            listener.Dispose();
        }

        directories.Dispose();
    }

    /// <summary>A port some other process listens on (here: this test, on the loopback).</summary>
    private int Occupy()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        occupied.Add(listener);
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Fact]
    public async Task The_dashboard_and_its_otlp_endpoint_move_with_their_settings_daprds_tracing_too()
    {
        directories.Install("daprd", "placement", "scheduler");
        await using var model = await AppHostModel.BuildAsync(directories.Args("--CqrsDapr:Ports:dashboard=16080", "--CqrsDapr:Ports:otlp=16081"));

        Assert.Equal("http://localhost:16080", model.Setting("ASPNETCORE_URLS"));
        Assert.Equal("http://localhost:16081", model.Setting("ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"));
        var config = await File.ReadAllTextAsync(Path.Combine(directories.Data, "dapr", "config.yaml"), Ct);
        Assert.Matches("endpointAddress: \"?localhost:16081\"?\n", config);
    }

    [Fact]
    public async Task The_dashboard_stays_on_15080_whatever_aspnetcore_urls_another_app_was_given_and_0_lets_aspire_choose()
    {
        await using (var model = await AppHostModel.BuildAsync(directories.Args("--ASPNETCORE_URLS=http://localhost:5000")))
        {
            Assert.Equal("http://localhost:15080", model.Setting("ASPNETCORE_URLS"));
        }

        await using var any = await AppHostModel.BuildAsync(directories.Args("--CqrsDapr:Ports:dashboard=0"));
        Assert.Equal("", any.Setting("ASPNETCORE_URLS"));
    }

    [Fact]
    public void Without_any_otlp_setting_the_endpoint_is_19080_and_one_set_through_aspires_own_key_stays()
    {
        static string? Otlp(params string[] args)
        {
            var builder = DistributedApplication.CreateBuilder(new DistributedApplicationOptions { Args = args, DisableDashboard = true });
            AppHostPorts.Configure(builder);
            return builder.Configuration["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"];
        }

        Assert.Equal("http://localhost:19080", Otlp());
        Assert.Equal("http://localhost:4317", Otlp("--ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL=http://localhost:4317"));
        Assert.Equal("http://localhost:21000", Otlp("--ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL=http://localhost:4317", "--CqrsDapr:Ports:otlp=21000"));
    }

    [Theory]
    [InlineData("otlp", "0")]
    [InlineData("gateway", "http")]
    [InlineData("dashboard", "70000")]
    public async Task A_port_setting_that_is_no_port_is_an_error_naming_it(string name, string value)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => AppHostModel.BuildAsync(directories.Args($"--CqrsDapr:Ports:{name}={value}")));

        Assert.Contains($"CqrsDapr:Ports:{name} is '{value}'", error.GetBaseException().Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_taken_gateway_port_stops_the_start_before_any_process_runs_naming_the_port_and_its_setting()
    {
        var port = Occupy();

        var message = await RefusedStartAsync(dashboard: false, $"--CqrsDapr:Ports:gateway={port}");

        Assert.Contains($"port {port} (gateway) is in use by another process", message, StringComparison.Ordinal);
        Assert.Contains("set CqrsDapr:Ports:gateway to another port", message, StringComparison.Ordinal);
        Assert.Contains($"--CqrsDapr:Ports:gateway={port + 1}", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Taken_dashboard_and_otlp_ports_stop_the_start_naming_their_settings()
    {
        var dashboard = Occupy();
        var otlp = Occupy();

        var message = await RefusedStartAsync(dashboard: true, $"--CqrsDapr:Ports:dashboard={dashboard}", $"--CqrsDapr:Ports:otlp={otlp}");

        Assert.Contains($"port {dashboard} (dashboard) is in use by another process: stop it, or set CqrsDapr:Ports:dashboard", message, StringComparison.Ordinal);
        Assert.Contains($"port {otlp} (dashboard's OTLP endpoint) is in use by another process: stop it, or set CqrsDapr:Ports:otlp", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_taken_database_port_stops_the_start_when_the_port_is_fixed()
    {
        var port = Occupy();

        var message = await RefusedStartAsync(dashboard: false, $"--CqrsDapr:Ports:writedb={port}");

        Assert.Contains($"port {port} (writedb) is in use by another process: stop it, or set CqrsDapr:Ports:writedb", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_the_test_harness_moving_proxied_ports_a_taken_gateway_port_still_stops_the_start()
    {
        // The harness moves proxied endpoints to free ports (DcpPublisher:RandomizePorts); the resources' are not
        // proxied (DirectEndpoints), so a fixed one stays where it is set, and is checked.
        var port = Occupy();
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.CqrsDapr_AppHost>(
            directories.Args($"--CqrsDapr:Ports:gateway={port}"), Ct);
        await using var app = await builder.BuildAsync(Ct);

        var error = await Assert.ThrowsAsync<PortsInUseException>(() => app.StartAsync(Ct));

        Assert.Contains($"port {port} (gateway) is in use by another process", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(directories.Data, "writedb")), "the start went on: PostgreSQL's data directory was made");
    }

    [Fact]
    public async Task A_port_held_by_a_wildcard_listener_is_taken_too()
    {
        using var wildcard = new TcpListener(IPAddress.IPv6Any, 0);
        wildcard.Server.DualMode = true;
        wildcard.Start();
        var port = ((IPEndPoint)wildcard.LocalEndpoint).Port;

        var message = await RefusedStartAsync(dashboard: false, $"--CqrsDapr:Ports:gateway={port}");

        Assert.Contains($"port {port} (gateway)", message, StringComparison.Ordinal);
    }

    /// <summary>
    /// The AppHost as <c>dotnet run</c> starts it (its own process, the dashboard on): the refusal is its error output and
    /// exit code 1, and nothing claims the system started.
    /// </summary>
    [Fact]
    public async Task Run_as_a_program_a_taken_gateway_port_is_an_error_on_stderr_and_exit_code_1()
    {
        var port = Occupy();
        var project = Projects.CqrsDapr_AppHost.ProjectPath; // the AppHost's directory
        var configuration = typeof(AppHostPortsTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var startInfo = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            WorkingDirectory = project,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["ASPIRE_ALLOW_UNSECURED_TRANSPORT"] = "true",
                ["DOTNET_ENVIRONMENT"] = "Development",
            },
        };
        // The dashboard on a port of its own, so that an AppHost running on this machine is no second conflict.
        foreach (var argument in (string[])[Path.Combine(project, "bin", configuration, "net10.0", "CqrsDapr.AppHost.dll"),
            .. directories.Args($"--CqrsDapr:Ports:gateway={port}", "--CqrsDapr:Ports:dashboard=0", $"--CqrsDapr:Ports:otlp={FreePort()}")])
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo)!;
        var output = process.StandardOutput.ReadToEndAsync(Ct);
        var errors = process.StandardError.ReadToEndAsync(Ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(ExitTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"The AppHost did not exit within {ExitTimeout.TotalMinutes} minutes with its gateway port taken: {await output}");
        }

        Assert.Equal(1, process.ExitCode);
        var stderr = await errors;
        Assert.StartsWith("error: the AppHost did not start", stderr, StringComparison.Ordinal);
        Assert.Contains($"port {port} (gateway) is in use by another process: stop it, or set CqrsDapr:Ports:gateway to another port", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Distributed application started", await output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", stderr, StringComparison.Ordinal);
    }

    /// <summary>Builds the real AppHost with its fixed ports kept (the test harness moves them otherwise) and starts it.</summary>
    private async Task<string> RefusedStartAsync(bool dashboard, params string[] settings)
    {
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.CqrsDapr_AppHost>(
            directories.Args(["--DcpPublisher:RandomizePorts=false", .. settings]),
            (options, _) => options.DisableDashboard = !dashboard,
            Ct);
        await using var app = await builder.BuildAsync(Ct);

        var error = await Assert.ThrowsAsync<PortsInUseException>(() => app.StartAsync(Ct));

        Assert.False(Directory.Exists(Path.Combine(directories.Data, "writedb")), "the start went on: PostgreSQL's data directory was made");
        return error.Message;
    }
}
