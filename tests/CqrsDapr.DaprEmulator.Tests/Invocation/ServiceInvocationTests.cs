using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CqrsDapr.DaprEmulator.Tests.Infrastructure;
using Dapr.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace CqrsDapr.DaprEmulator.Tests.Invocation;

/// <summary>
/// Service invocation between two apps, each with its own sidecar process: the caller's SDK client talks to its own
/// sidecar, which finds the callee's sidecar by app-id and has it call the callee app. Each test resolves names in a
/// registry folder of its own (with daprd, mDNS), and app-ids are unique per test.
/// </summary>
public sealed class ServiceInvocationTests : IDisposable
{
    private readonly Resources resources = new Resources().Component("store", "state.in-memory");
    private readonly string registry = Path.Combine(Path.GetTempPath(), "cqrsdapr-tests", "registry-" + Guid.NewGuid().ToString("N"));
    private readonly string suffix = Guid.NewGuid().ToString("N")[..8];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Dictionary<string, string> Environment => new(StringComparer.Ordinal) { ["CQRSDAPR_EMULATOR_REGISTRY"] = registry };

    private string Id(string name) => $"{name}-{suffix}";

    /// <summary>The callee: echoes what it got and answers the statuses the tests ask for.</summary>
    private static void CalleeRoutes(WebApplication app, string instance = "b")
    {
        app.MapGet("/items/{id}", (string id, HttpRequest request) => Results.Json(new
        {
            id,
            query = request.QueryString.Value,
            instance,
        }));
        app.MapPost("/echo", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            request.HttpContext.Response.Headers["X-Echo"] = "yes";
            return Results.Text(body, request.ContentType ?? "text/plain", Encoding.UTF8, StatusCodes.Status201Created);
        });
        app.MapPut("/echo", async (HttpRequest request) =>
        {
            using var bytes = new MemoryStream();
            await request.Body.CopyToAsync(bytes);
            return Results.Bytes(bytes.ToArray(), request.ContentType ?? "application/octet-stream");
        });
        app.MapDelete("/things/{id}", () => Results.NoContent());
        app.MapGet("/missing", () => Results.Problem(title: "no such thing", statusCode: 404));
        app.MapGet("/broken", (HttpResponse response) =>
        {
            response.Headers["X-Failure"] = "on purpose";
            return Results.Text("boom", "text/plain", Encoding.UTF8, 500);
        });
    }

    private Task<DaprTestHost> CalleeAsync(string? appApiToken = null, string name = "b", string? instance = null) =>
        DaprTestHost.StartAsync(Id(name), resources, configureApp: app => CalleeRoutes(app, instance ?? name), appApiToken: appApiToken, environment: Environment);

    private Task<DaprTestHost> CallerAsync(string? apiToken = null) =>
        DaprTestHost.StartAsync(Id("a"), resources, withApp: false, apiToken: apiToken, environment: Environment);

    /// <summary>What the Dapr SDK recommends for service invocation: an HttpClient whose requests go to the app-id.</summary>
    private static HttpClient Invoker(DaprTestHost caller, string appId, string? apiToken = null) =>
        DaprClient.CreateInvokeHttpClient(appId, caller.Sidecar.HttpEndpoint, apiToken);

    [Fact]
    public async Task A_get_with_a_query_reaches_another_app_through_the_callers_own_sidecar()
    {
        await using var b = await CalleeAsync();
        await using var a = await CallerAsync();

        using var http = Invoker(a, Id("b"));
        var result = await http.GetFromJsonAsync<JsonElement>(new Uri("/items/42?x=1&y=a%20b", UriKind.Relative), Ct);

        Assert.Equal("42", result.GetProperty("id").GetString());
        Assert.Equal("?x=1&y=a%20b", result.GetProperty("query").GetString());
        var received = Assert.Single(b.AppLog.Snapshot(), r => r.Path == "/items/42");
        Assert.Equal("GET", received.Method);
        Assert.Equal(Id("a"), received.Headers["dapr-caller-app-id"]);
        Assert.Equal(Id("b"), received.Headers["dapr-callee-app-id"]);
    }

    [Fact]
    public async Task A_json_body_is_posted_and_the_apps_answer_read_back()
    {
        await using var b = await CalleeAsync();
        await using var a = await CallerAsync();
        using var http = Invoker(a, Id("b"));

        using var posted = await http.PostAsJsonAsync(new Uri("/echo", UriKind.Relative), new { name = "widget", qty = 3 }, Ct);
        var answer = await posted.Content.ReadFromJsonAsync<JsonElement>(Ct);

        Assert.Equal("widget", answer.GetProperty("name").GetString());
        Assert.Equal(3, answer.GetProperty("qty").GetInt32());
        var received = Assert.Single(b.AppLog.Snapshot(), r => r.Path == "/echo");
        Assert.Equal("POST", received.Method);
        Assert.StartsWith("application/json", received.ContentType, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invoke_http_client_gets_the_apps_status_headers_and_body_as_they_are()
    {
        await using var b = await CalleeAsync();
        await using var a = await CallerAsync();
        using var http = DaprClient.CreateInvokeHttpClient(Id("b"), a.Sidecar.HttpEndpoint);

        using var created = await http.PostAsync(new Uri("/echo", UriKind.Relative), new StringContent("plain words", Encoding.UTF8, "text/plain"), Ct);
        using var put = await http.PutAsync(new Uri("/echo", UriKind.Relative), new ByteArrayContent([1, 2, 3, 0, 255]) { Headers = { { "Content-Type", "application/octet-stream" } } }, Ct);
        using var deleted = await http.DeleteAsync(new Uri("/things/9", UriKind.Relative), Ct);
        using var missing = await http.GetAsync(new Uri("/missing", UriKind.Relative), Ct);
        using var broken = await http.GetAsync(new Uri("/broken", UriKind.Relative), Ct);
        using var noRoute = await http.GetAsync(new Uri("/no/such/route", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("plain words", await created.Content.ReadAsStringAsync(Ct));
        Assert.Equal("yes", Assert.Single(created.Headers.GetValues("X-Echo")));
        Assert.Equal("text/plain", created.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal(new byte[] { 1, 2, 3, 0, 255 }, await put.Content.ReadAsByteArrayAsync(Ct));
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
        Assert.Contains("no such thing", await missing.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.InternalServerError, broken.StatusCode);
        Assert.Equal("boom", await broken.Content.ReadAsStringAsync(Ct));
        Assert.Equal("on purpose", Assert.Single(broken.Headers.GetValues("X-Failure")));
        Assert.Equal(HttpStatusCode.NotFound, noRoute.StatusCode);
    }

    [Fact]
    public async Task Request_headers_reach_the_app_without_hop_by_hop_headers_and_dapr_headers_cannot_be_forged()
    {
        await using var b = await CalleeAsync();
        await using var a = await CallerAsync();
        using var http = new HttpClient { BaseAddress = new Uri(a.Sidecar.HttpEndpoint) };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1.0/invoke/{Id("b")}/method/items/7?k=v");
        request.Headers.Add("X-Custom", "custom value");
        request.Headers.Add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        request.Headers.Add("dapr-caller-app-id", "forged");
        request.Headers.Add("Keep-Alive", "timeout=5");
        request.Headers.Connection.Add("X-Hop");
        request.Headers.Add("X-Hop", "only for the next hop");

        using var response = await http.SendAsync(request, Ct);

        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct) + "\n" + a.Sidecar.LogTail() + "\n" + b.Sidecar.LogTail());
        var received = Assert.Single(b.AppLog.Snapshot(), r => r.Path == "/items/7");
        Assert.Equal("custom value", received.Headers["X-Custom"]);
        Assert.Equal("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", received.Headers["traceparent"]);
        Assert.Equal(Id("a"), received.Headers["dapr-caller-app-id"]);
        Assert.False(received.Headers.ContainsKey("Keep-Alive"));
        Assert.False(received.Headers.ContainsKey("X-Hop"));
        Assert.False(received.Headers.ContainsKey("dapr-app-id"));
        Assert.True(received.Headers.ContainsKey("X-Forwarded-For"));
    }

    [Fact]
    public async Task The_dapr_app_id_header_form_invokes_the_path_on_that_app()
    {
        await using var b = await CalleeAsync();
        await using var a = await CallerAsync();
        using var http = new HttpClient { BaseAddress = new Uri(a.Sidecar.HttpEndpoint) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/items/5?z=9");
        request.Headers.Add("dapr-app-id", Id("b"));

        using var response = await http.SendAsync(request, Ct);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);

        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct) + "\n" + a.Sidecar.LogTail() + "\n" + b.Sidecar.LogTail());
        Assert.Equal("5", body.GetProperty("id").GetString());
        Assert.Equal("?z=9", body.GetProperty("query").GetString());
    }

    [Fact]
    public async Task An_unknown_app_id_gets_daprds_direct_invoke_error()
    {
        await using var a = await CallerAsync();
        using var http = new HttpClient { BaseAddress = new Uri(a.Sidecar.HttpEndpoint) };
        var ghost = Id("nobody");

        using var response = await http.GetAsync(new Uri($"/v1.0/invoke/{ghost}/method/anything", UriKind.Relative), Ct);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        using var invoker = Invoker(a, ghost);
        using var byInvokeClient = await invoker.GetAsync(new Uri("/anything", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("ERR_DIRECT_INVOKE", body.RootElement.GetProperty("errorCode").GetString());
        Assert.Equal($"failed to invoke, id: {ghost}, err: couldn't find service: {ghost}", body.RootElement.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.InternalServerError, byInvokeClient.StatusCode);
    }

    [Fact]
    public async Task The_callee_app_gets_its_app_api_token_and_never_the_callers_sidecar_token()
    {
        await using var b = await CalleeAsync(appApiToken: "callee-app-token");
        await using var a = await CallerAsync(apiToken: "caller-sidecar-token");

        using var http = Invoker(a, Id("b"), "caller-sidecar-token");
        using var response = await http.GetAsync(new Uri("/items/1", UriKind.Relative), Ct);

        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct) + "\n" + a.Sidecar.LogTail() + "\n" + b.Sidecar.LogTail());
        var received = Assert.Single(b.AppLog.Snapshot(), r => r.Path == "/items/1");
        Assert.Equal("callee-app-token", received.Headers["dapr-api-token"]);
    }

    [Fact]
    public async Task The_callers_sidecar_enforces_its_dapr_api_token()
    {
        await using var b = await CalleeAsync();
        await using var a = await CallerAsync(apiToken: "caller-sidecar-token");
        using var http = new HttpClient { BaseAddress = new Uri(a.Sidecar.HttpEndpoint) };

        using var anonymous = await http.GetAsync(new Uri($"/v1.0/invoke/{Id("b")}/method/items/1", UriKind.Relative), Ct);
        using var byHeader = new HttpRequestMessage(HttpMethod.Get, "/items/1") { Headers = { { "dapr-app-id", Id("b") } } };
        using var anonymousByHeader = await http.SendAsync(byHeader, Ct);
        using var withToken = new HttpRequestMessage(HttpMethod.Get, $"/v1.0/invoke/{Id("b")}/method/items/1") { Headers = { { "dapr-api-token", "caller-sidecar-token" } } };
        using var authorised = await http.SendAsync(withToken, Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymousByHeader.StatusCode);
        Assert.Equal(HttpStatusCode.OK, authorised.StatusCode);
        var received = Assert.Single(b.AppLog.Snapshot(), r => r.Path == "/items/1");
        Assert.False(received.Headers.ContainsKey("dapr-api-token"));
    }

    [Fact]
    public async Task Invoking_the_sidecars_own_app_id_calls_its_own_app()
    {
        await using var b = await CalleeAsync();

        using var http = Invoker(b, Id("b"));
        var result = await http.GetFromJsonAsync<JsonElement>(new Uri("/items/3", UriKind.Relative), Ct);

        Assert.Equal("3", result.GetProperty("id").GetString());
        var received = Assert.Single(b.AppLog.Snapshot(), r => r.Path == "/items/3");
        Assert.Equal(Id("b"), received.Headers["dapr-caller-app-id"]);
    }

    [Fact]
    public async Task Calls_to_an_app_id_with_several_instances_go_round_robin_and_a_stopped_one_drops_out()
    {
        await using var first = await CalleeAsync(instance: "one");
        var second = await CalleeAsync(instance: "two");
        await using var a = await CallerAsync();
        using var http = Invoker(a, Id("b"));

        var seen = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var result = await http.GetFromJsonAsync<JsonElement>(new Uri("/items/1", UriKind.Relative), Ct);
            seen.Add(result.GetProperty("instance").GetString()!);
        }

        await second.DisposeAsync();
        var after = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var result = await http.GetFromJsonAsync<JsonElement>(new Uri("/items/1", UriKind.Relative), Ct);
            after.Add(result.GetProperty("instance").GetString()!);
        }

        Assert.Equal(2, seen.Count(s => s == "one"));
        Assert.Equal(2, seen.Count(s => s == "two"));
        Assert.All(after, s => Assert.Equal("one", s));
    }

    [Fact]
    public async Task A_registry_entry_left_by_a_dead_process_is_ignored_and_removed()
    {
        await using var a = await CallerAsync();
        using var exited = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        await exited.WaitForExitAsync(Ct);
        var ghost = Id("crashed");
        var folder = Path.Combine(registry, ghost);
        Directory.CreateDirectory(folder);
        var stale = Path.Combine(folder, $"{exited.Id}.json");
        await File.WriteAllTextAsync(stale, $$"""{"appId":"{{ghost}}","pid":{{exited.Id}},"startTicks":0,"endpoint":"http://127.0.0.1:1","key":"k"}""", Ct);
        using var http = new HttpClient { BaseAddress = new Uri(a.Sidecar.HttpEndpoint) };

        using var response = await http.GetAsync(new Uri($"/v1.0/invoke/{ghost}/method/x", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.EndsWith($"couldn't find service: {ghost}", body.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.False(File.Exists(stale));
    }

    [Fact]
    public async Task A_sidecar_registers_on_start_and_removes_its_entry_on_shutdown()
    {
        var b = await CalleeAsync();
        var folder = Path.Combine(registry, Id("b"));
        var entries = Directory.GetFiles(folder, "*.json");
        var pid = b.Sidecar.ProcessId;

        await b.DisposeAsync();

        var entry = Assert.Single(entries);
        Assert.Equal($"{pid}.json", Path.GetFileName(entry));
        Assert.False(File.Exists(entry));
    }

    public void Dispose()
    {
        resources.Dispose();
        try
        {
            Directory.Delete(registry, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
