using System.Globalization;
using System.Text.RegularExpressions;
using CqrsDapr.CommandService.Persistence;
using CqrsDapr.TestSupport;
using Npgsql;

namespace CqrsDapr.CommandService.Tests.Persistence;

/// <summary>
/// The write database pool's size: <see cref="PersistenceModule.DefaultMaxPoolSize"/> unless the connection string sets
/// <c>Maximum Pool Size</c>, and room in it for every actor turn the sidecar may run in the app at once.
/// </summary>
public sealed partial class PoolSizeTests
{
    [Fact]
    public void Without_a_maximum_in_the_connection_string_the_pool_gets_the_default()
    {
        var limited = new NpgsqlConnectionStringBuilder(PersistenceModule.WithPoolLimit("Host=db;Database=w;Username=u"));

        Assert.Equal(PersistenceModule.DefaultMaxPoolSize, limited.MaxPoolSize);
        Assert.Equal("db", limited.Host);
    }

    [Theory]
    [InlineData("Host=db;Maximum Pool Size=100", 100)] // Npgsql's own default, given on purpose
    [InlineData("Host=db;maximum pool size=7", 7)]
    [InlineData("Host=db;MaxPoolSize=250", 250)]
    public void A_maximum_the_connection_string_sets_is_kept(string connectionString, int expected) =>
        Assert.Equal(expected, new NpgsqlConnectionStringBuilder(PersistenceModule.WithPoolLimit(connectionString)).MaxPoolSize);

    [Fact]
    public void A_minimum_above_the_default_raises_the_maximum_to_it() =>
        Assert.Equal(60, new NpgsqlConnectionStringBuilder(PersistenceModule.WithPoolLimit("Host=db;Minimum Pool Size=60")).MaxPoolSize);

    [Fact]
    public void The_pool_holds_every_turn_the_sidecar_may_run_at_once_and_room_beside_them()
    {
        var values = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "charts", "cqrs-dapr", "values.yaml"));
        var section = CommandServiceSection().Match(values);
        Assert.True(section.Success, "values.yaml has no commandService section");
        var turns = AppMaxConcurrency().Match(section.Value);
        Assert.True(turns.Success, "values.yaml has no commandService.dapr.appMaxConcurrency");

        // One connection per turn, and the idempotency look-ups, the relay, its health check and the sweeps beside them.
        Assert.True(PersistenceModule.DefaultMaxPoolSize >= int.Parse(turns.Groups[1].Value, CultureInfo.InvariantCulture) + 8,
            $"a pool of {PersistenceModule.DefaultMaxPoolSize} leaves too little beside {turns.Groups[1].Value} turns");
    }

    [GeneratedRegex(@"^commandService:\n(?:(?:[ #].*)?\n)*", RegexOptions.Multiline)]
    private static partial Regex CommandServiceSection();

    [GeneratedRegex(@"^\s+appMaxConcurrency:\s*(\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex AppMaxConcurrency();
}
