using System.Net;
using System.Net.Sockets;
using System.Text;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace CqrsDapr.AppHost.Tests;

/// <summary>
/// The operators' commands on the query service's resource (dashboard, <c>ResourceCommandService</c>): each calls the
/// query service through its sidecar with this run's API token and sums the answer up. The model is built, never
/// started: the sidecar is a stand-in on a port of the test's own that answers as the query service does.
/// </summary>
public sealed class OperatorCommandTests : IDisposable
{
    private const string Invoke = "/v1.0/invoke/query-service/method/";
    private readonly TestDirectories directories = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => directories.Dispose();

    [Fact]
    public async Task The_query_service_has_the_three_operator_commands_and_rebuilding_asks_first()
    {
        await using var model = await AppHostModel.BuildAsync(directories.Args());

        var commands = model.Resource("query-service").Annotations.OfType<ResourceCommandAnnotation>().ToDictionary(c => c.Name, c => c);
        Assert.Equal("Rebuild views", commands["rebuild-views"].DisplayName);
        Assert.Equal("Rebuild status", commands["rebuild-status"].DisplayName);
        Assert.Equal("Dead letters", commands["dead-letters"].DisplayName);
        Assert.False(string.IsNullOrEmpty(commands["rebuild-views"].ConfirmationMessage));
        Assert.Null(commands["rebuild-status"].ConfirmationMessage);
        foreach (var other in new[] { "command-service", "query-service-dapr", "gateway" })
        {
            Assert.DoesNotContain(model.Resource(other).Annotations.OfType<ResourceCommandAnnotation>(), c => c.Name is "rebuild-views" or "dead-letters");
        }
    }

    [Fact]
    public async Task Rebuild_views_posts_through_the_sidecar_with_the_runs_token_and_names_the_generation_being_built()
    {
        await using var model = await AppHostModel.BuildAsync(directories.Args());
        using var sidecar = new StandInSidecar(await model.ParameterAsync("dapr-api-token"));
        sidecar.Answer("POST", "internal/rebuilds/products", 202, """{"active":1,"building":2,"retiring":null,"lastRebuild":{"generation":2,"state":"building","startedAt":"2026-12-07T10:00:00+00:00","heartbeatAt":"2026-12-07T10:00:00+00:00","events":0,"applied":0},"revision":3}""");

        var result = await ExecuteAsync(model, sidecar, "rebuild-views");

        Assert.True(result.Success, result.Message);
        Assert.StartsWith("Rebuild started: generation 2 is being built from the event log; generation 1 is served until it completes.", result.Message, StringComparison.Ordinal);
        Assert.Equal(CommandResultFormat.Json, result.Data?.Format);
        Assert.Contains("\"building\":2", result.Data?.Value, StringComparison.Ordinal);
        Assert.Equal(["POST internal/rebuilds/products"], sidecar.Calls);
    }

    [Fact]
    public async Task Rebuild_views_while_one_runs_fails_with_the_query_services_reason()
    {
        await using var model = await AppHostModel.BuildAsync(directories.Args());
        using var sidecar = new StandInSidecar(await model.ParameterAsync("dapr-api-token"));
        sidecar.Answer("POST", "internal/rebuilds/products", 409, """{"title":"A rebuild is running.","status":409,"detail":"Generation 3 is being built; its heartbeat is younger than 60 s.","code":"rebuild-running"}""");

        var result = await ExecuteAsync(model, sidecar, "rebuild-views");

        Assert.False(result.Success);
        Assert.Equal("A rebuild is already running: Generation 3 is being built; its heartbeat is younger than 60 s.", result.Message);
    }

    [Fact]
    public async Task Rebuild_status_sums_up_the_generations_and_the_last_rebuild()
    {
        await using var model = await AppHostModel.BuildAsync(directories.Args());
        using var sidecar = new StandInSidecar(await model.ParameterAsync("dapr-api-token"));
        sidecar.Answer("GET", "internal/rebuilds/products", 200, """{"active":2,"building":null,"retiring":1,"lastRebuild":{"generation":2,"state":"completed","startedAt":"2026-12-07T10:00:00+00:00","heartbeatAt":"2026-12-07T10:00:05+00:00","finishedAt":"2026-12-07T10:00:05+00:00","events":5,"applied":4,"error":null},"revision":4}""");

        var result = await ExecuteAsync(model, sidecar, "rebuild-status");

        Assert.True(result.Success, result.Message);
        Assert.Equal(
            "Serving generation 2; last rebuild: generation 2 completed, 5 events (4 applied), started 2026-12-07T10:00:00+00:00, finished 2026-12-07T10:00:05+00:00.",
            result.Message);
    }

    [Fact]
    public async Task Rebuild_status_before_any_rebuild_says_so()
    {
        await using var model = await AppHostModel.BuildAsync(directories.Args());
        using var sidecar = new StandInSidecar(await model.ParameterAsync("dapr-api-token"));
        sidecar.Answer("GET", "internal/rebuilds/products", 200, """{"active":1,"building":null,"retiring":null,"lastRebuild":null,"revision":0}""");

        var result = await ExecuteAsync(model, sidecar, "rebuild-status");

        Assert.Equal("Serving generation 1; no rebuild yet.", result.Message);
    }

    [Fact]
    public async Task Dead_letters_counts_them_and_names_the_first_ones()
    {
        await using var model = await AppHostModel.BuildAsync(directories.Args());
        using var sidecar = new StandInSidecar(await model.ParameterAsync("dapr-api-token"));
        sidecar.Answer("GET", "internal/dead-letters?limit=100", 200, """
            [{"viewType":"deadletter","id":"e1","topic":"products","eventType":"ProductCreated","aggregateId":"p1","reason":"price has no currency","receivedAt":"2026-12-07T10:00:00+00:00","receivedAtKey":"k1"},
             {"viewType":"deadletter","id":"e2","topic":"products","eventType":null,"aggregateId":null,"reason":null,"rawData":"x","receivedAt":"2026-12-07T10:01:00+00:00","receivedAtKey":"k2"}]
            """);

        var result = await ExecuteAsync(model, sidecar, "dead-letters");

        Assert.True(result.Success, result.Message);
        Assert.Equal(
            "2 dead letters. First: ProductCreated of p1 from products at 2026-12-07T10:00:00+00:00: price has no currency (id e1); " +
            "(no event type) of (no aggregate) from products at 2026-12-07T10:01:00+00:00: no reason given (id e2).",
            result.Message);
    }

    [Fact]
    public async Task No_dead_letters_says_so_and_a_sidecar_that_refuses_is_a_failure_with_its_answer()
    {
        await using var model = await AppHostModel.BuildAsync(directories.Args());
        using var sidecar = new StandInSidecar(await model.ParameterAsync("dapr-api-token"));
        sidecar.Answer("GET", "internal/dead-letters?limit=100", 200, "[]");

        Assert.Equal("No dead letters.", (await ExecuteAsync(model, sidecar, "dead-letters")).Message);

        sidecar.Token = "another run's token";
        var refused = await ExecuteAsync(model, sidecar, "dead-letters");
        Assert.False(refused.Success);
        Assert.StartsWith("query-service answered 401 Unauthorized", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_sidecar_that_does_not_answer_is_a_failure_naming_its_address()
    {
        await using var model = await AppHostModel.BuildAsync(directories.Args());
        int closed;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            closed = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var result = await ExecuteAsync(model, closed, "rebuild-status");

        Assert.False(result.Success);
        Assert.StartsWith($"query-service's sidecar at http://localhost:{closed} did not answer", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_operator_file_is_owner_only_names_the_sidecar_and_token_and_goes_when_the_apphost_stops()
    {
        var file = new OperatorFile(Path.Combine(directories.Data, OperatorFile.FileName));

        file.Write("query-service", "http://localhost:41234", "t0ken");

        var lines = await File.ReadAllLinesAsync(file.Path, Ct);
        Assert.Contains($"CQRSDAPR_APPHOST_PID={Environment.ProcessId}", lines);
        Assert.Contains("CQRSDAPR_QUERY_APP_ID=query-service", lines);
        Assert.Contains("CQRSDAPR_QUERY_SIDECAR=http://localhost:41234", lines);
        Assert.Contains("DAPR_API_TOKEN=t0ken", lines);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file.Path));
        }

        await ((IHostedService)file).StartAsync(Ct);
        Assert.True(File.Exists(file.Path), "a start must not take away the file another running AppHost wrote");
        await ((IHostedService)file).StopAsync(Ct);
        Assert.False(File.Exists(file.Path));
    }

    [Fact]
    public async Task The_apphost_writes_the_operator_file_when_the_query_service_is_ready()
    {
        await using var model = await AppHostModel.BuildAsync(directories.Args());
        var queryService = model.Resource("query-service");
        AllocateSidecar(model, 45678);
        using var services = new ServiceCollection().BuildServiceProvider();

        await model.PublishAsync(new ResourceReadyEvent(queryService, services));

        var lines = await File.ReadAllLinesAsync(Path.Combine(directories.Data, OperatorFile.FileName), Ct);
        Assert.Contains("CQRSDAPR_QUERY_SIDECAR=http://localhost:45678", lines);
        Assert.Contains($"DAPR_API_TOKEN={await model.ParameterAsync("dapr-api-token")}", lines);
    }

    private static Task<ExecuteCommandResult> ExecuteAsync(AppHostModel model, StandInSidecar sidecar, string command) =>
        ExecuteAsync(model, sidecar.Port, command);

    private static async Task<ExecuteCommandResult> ExecuteAsync(AppHostModel model, int sidecarPort, string command)
    {
        AllocateSidecar(model, sidecarPort);
        var annotation = model.Resource("query-service").Annotations.OfType<ResourceCommandAnnotation>().Single(c => c.Name == command);
        await using var services = new ServiceCollection().AddHttpClient().BuildServiceProvider();
        return await annotation.ExecuteCommand(new ExecuteCommandContext
        {
            Services = services,
            ResourceName = "query-service",
            CancellationToken = Ct,
            Logger = NullLogger.Instance,
            Arguments = new InteractionInputCollection([]),
        });
    }

    /// <summary>What Aspire does at start: the sidecar's HTTP endpoint gets its address.</summary>
    private static void AllocateSidecar(AppHostModel model, int port)
    {
        var http = model.Resource("query-service-dapr").Annotations.OfType<EndpointAnnotation>().Single(e => e.Name == "http");
        http.AllocatedEndpoint ??= new AllocatedEndpoint(http, "localhost", port, EndpointBindingMode.SingleAddress, networkId: KnownNetworkIdentifiers.LocalhostNetwork);
    }

    /// <summary>Answers service invocations of query-service as its sidecar would: only with the run's API token.</summary>
    private sealed class StandInSidecar : IDisposable
    {
        private readonly HttpListener listener = new();
        private readonly Dictionary<string, (int Status, string Body)> answers = new(StringComparer.Ordinal);
        private readonly List<string> calls = [];

        public StandInSidecar(string token)
        {
            Token = token;
            using (var probe = new TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                Port = ((IPEndPoint)probe.LocalEndpoint).Port;
            }

            listener.Prefixes.Add($"http://localhost:{Port}/");
            listener.Start();
            _ = ServeAsync();
        }

        public int Port { get; }

        /// <summary>The API token it requires.</summary>
        public string Token { get; set; }

        public IReadOnlyList<string> Calls
        {
            get
            {
                lock (calls)
                {
                    return [.. calls];
                }
            }
        }

        public void Answer(string method, string pathAndQuery, int status, string body) => answers[$"{method} {pathAndQuery}"] = (status, body);

        public void Dispose() => listener.Close();

        private async Task ServeAsync()
        {
            while (listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync();
                }
                catch (Exception error) when (error is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                var path = context.Request.Url!.PathAndQuery;
                var call = $"{context.Request.HttpMethod} {(path.StartsWith(Invoke, StringComparison.Ordinal) ? path[Invoke.Length..] : path)}";
                lock (calls)
                {
                    calls.Add(call);
                }

                var (status, body) = context.Request.Headers["dapr-api-token"] != Token
                    ? (401, """{"errorCode":"ERR_API_UNAUTHORIZED"}""")
                    : answers.TryGetValue(call, out var answer) ? answer : (404, "");
                context.Response.StatusCode = status;
                context.Response.ContentType = "application/json";
                var bytes = Encoding.UTF8.GetBytes(body);
                await context.Response.OutputStream.WriteAsync(bytes);
                context.Response.Close();
            }
        }
    }
}
