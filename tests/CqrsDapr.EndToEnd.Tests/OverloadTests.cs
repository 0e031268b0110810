using System.Globalization;
using System.Net;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace CqrsDapr.EndToEnd.Tests;

/// <summary>
/// A burst of creates over the gateway's write limit (issue 23): the excess is refused at once, 503 <c>overloaded</c>
/// with Retry-After, and never reaches the command service; what was admitted is created and readable; no process of
/// the system goes down. Asserted by counts and statuses only.
/// </summary>
[Collection(OverloadedSystem.Name)]
public sealed class OverloadTests(OverloadSystemFixture system)
{
    private const int Burst = 60;

    [Fact]
    public async Task A_burst_of_creates_over_the_write_limit_is_partly_refused_and_nothing_refused_is_created()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        Assert.Equal(
            OverloadSystemFixture.WriteConcurrencyLimit.ToString(CultureInfo.InvariantCulture),
            system.GatewayEnvironment("Gateway__Admission__Writes__ConcurrencyLimit")); // the AppHost passed the setting on
        var processes = system.ProcessIds();
        Assert.Superset(
            new HashSet<string>(["gateway", "command-service", "command-service-dapr", "query-service", "query-service-dapr", "writedb", "readdb", "redis"]),
            processes.Keys.ToHashSet());
        var run = Guid.NewGuid().ToString("N")[..8].ToUpperInvariant(); // SKUs are stored upper case
        var category = $"overload-{run}";
        string Sku(int i) => $"OVL-{run}-{i:D2}";

        // Every client its own connection, opened before the burst, so the creates arrive together.
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Burst }) { BaseAddress = system.Gateway.BaseAddress };
        await Task.WhenAll(Enumerable.Range(0, Burst).Select(async _ =>
        {
            using var alive = await client.GetAsync(new Uri("/alive", UriKind.Relative), cancellationToken);
            Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
        }));

        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sends = Enumerable.Range(0, Burst).Select(async i =>
        {
            await start.Task;
            var body = $$"""{"sku":"{{Sku(i)}}","name":"Burst {{i}}","category":"{{category}}","price":{"amount":1,"currency":"EUR"},"stock":1}""";
            using var response = await client.SendAsync(HttpMethod.Post, "/api/products", body, cancellationToken: cancellationToken);
            return await Answer.ReadAsync(Sku(i), response, cancellationToken);
        }).ToList();
        start.SetResult();
        var answers = await Task.WhenAll(sends);

        var created = answers.Where(a => a.Status == HttpStatusCode.Created).ToList();
        var refused = answers.Where(a => a.Status == HttpStatusCode.ServiceUnavailable).ToList();
        TestContext.Current.TestOutputHelper?.WriteLine($"{Burst} creates at once: {created.Count} created, {refused.Count} refused");
        Assert.True(
            created.Count + refused.Count == Burst,
            "every answer is 201 or 503: " + string.Join(", ", answers.GroupBy(a => a.Status).Select(g => $"{(int)g.Key} x{g.Count()}")));
        Assert.NotEmpty(created);
        Assert.NotEmpty(refused);
        Assert.All(refused, a =>
        {
            Assert.Equal("application/problem+json", a.ContentType);
            Assert.Equal("overloaded", a.Code);
            Assert.True(a.RetryAfter is { } delay && delay >= TimeSpan.FromSeconds(1), $"{a.Sku}: Retry-After {a.RetryAfter}");
        });

        // Every admitted create is readable with its consistency token.
        var deadline = DateTimeOffset.UtcNow.AddSeconds(90);
        foreach (var answer in created)
        {
            var (status, product) = await system.Gateway.ReadOwnWriteAsync(answer.Id!, answer.Token!, deadline, cancellationToken);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(answer.Sku, product.GetProperty("sku").GetString());
        }

        // No refused create exists: the write database holds exactly the admitted SKUs, and so does the category's list.
        var accepted = created.Select(a => a.Sku).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(accepted, await WrittenSkusAsync($"OVL-{run}-%", cancellationToken));
        Assert.Equal(accepted, await ListedSkusAsync(category, cancellationToken));

        // No process of the system went down (or was restarted) under the burst.
        Assert.Equal(processes, system.ProcessIds());
    }

    private async Task<List<string>> WrittenSkusAsync(string pattern, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(system.WriteDatabase);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT sku FROM products WHERE sku LIKE @pattern", connection);
        command.Parameters.AddWithValue("pattern", pattern);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var skus = new List<string>();
        while (await reader.ReadAsync(cancellationToken))
        {
            skus.Add(reader.GetString(0));
        }

        return [.. skus.Order(StringComparer.Ordinal)];
    }

    private async Task<List<string>> ListedSkusAsync(string category, CancellationToken cancellationToken)
    {
        using var response = await system.Gateway.SendAsync(HttpMethod.Get, $"/api/products?category={category}&pageSize=100", cancellationToken: cancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var page = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        Assert.Equal(JsonValueKind.Null, page.RootElement.GetProperty("nextPageToken").ValueKind); // one page: fewer than 100
        return [.. page.RootElement.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("sku").GetString()!).Order(StringComparer.Ordinal)];
    }

    /// <summary>What the client saw of one create.</summary>
    private sealed record Answer(string Sku, HttpStatusCode Status, string? Id, string? Token, string? Code, string? ContentType, TimeSpan? RetryAfter)
    {
        public static async Task<Answer> ReadAsync(string sku, HttpResponseMessage response, CancellationToken cancellationToken)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            var contentType = response.Content.Headers.ContentType?.MediaType;
            string? code = null;
            if (contentType == "application/problem+json")
            {
                using var problem = JsonDocument.Parse(text);
                code = problem.RootElement.TryGetProperty("code", out var value) ? value.GetString() : null;
            }

            return new Answer(
                sku,
                response.StatusCode,
                response.Headers.Location?.OriginalString.Split('/')[^1],
                response.Headers.TryGetValues(ProductApi.ConsistencyToken, out var tokens) ? tokens.Single() : null,
                code,
                contentType,
                response.Headers.RetryAfter?.Delta);
        }
    }
}

/// <summary>The system with a gateway that forwards at most two writes at once and queues none.</summary>
public sealed class OverloadSystemFixture : SystemFixture
{
    public const int WriteConcurrencyLimit = 2;

    protected override IEnumerable<string> Settings =>
        [$"--CqrsDapr:Gateway:Admission:Writes:ConcurrencyLimit={WriteConcurrencyLimit}", "--CqrsDapr:Gateway:Admission:Writes:QueueLimit=0"];

    /// <summary>A variable of the environment the gateway was started with.</summary>
    public string? GatewayEnvironment(string name) =>
        App.ResourceNotifications.TryGetCurrentState("gateway", out var state)
            ? state.Snapshot.EnvironmentVariables.FirstOrDefault(variable => variable.Name == name)?.Value
            : null;

    /// <summary>
    /// The process id of every running process of the system: one that exited is missing, one that was restarted has
    /// another. (Resources that never start, such as Aspire's rebuilders, and the migration job, which finishes by
    /// design, are not running processes.)
    /// </summary>
    public SortedDictionary<string, string> ProcessIds()
    {
        var model = App.Services.GetRequiredService<DistributedApplicationModel>();
        var processes = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var resource in model.Resources.Where(resource => resource is ProjectResource or ExecutableResource))
        {
            if (App.ResourceNotifications.TryGetCurrentState(resource.Name, out var state)
                && state.Snapshot.State?.Text == KnownResourceStates.Running
                && state.Snapshot.Properties.FirstOrDefault(p => p.Name is "executable.pid" or "project.pid")?.Value is { } pid)
            {
                processes[resource.Name] = Convert.ToString(pid, CultureInfo.InvariantCulture) ?? "";
            }
        }

        return processes;
    }
}

/// <summary>The system with a small write limit, for the overload test alone.</summary>
[CollectionDefinition(Name)]
public sealed class OverloadedSystem : ICollectionFixture<OverloadSystemFixture>
{
    public const string Name = "system-overloaded";
}
