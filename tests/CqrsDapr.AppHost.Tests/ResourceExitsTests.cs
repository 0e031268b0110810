namespace CqrsDapr.AppHost.Tests;

/// <summary>
/// Which resource state changes the AppHost reports as failures (<see cref="ResourceExits"/>), from the states Aspire
/// reports: a resource killed (DCP reports it Finished with exit code -1) exited unexpectedly; <c>migrations</c>
/// finishing with 0 is its job; a stop someone asked for is none; everything down without a request is a teardown.
/// </summary>
public sealed class ResourceExitsTests
{
    private static readonly string[] System = ["writedb", "redis", "command-service", "command-service-dapr"];

    private static ResourceExits Running(params string[] names)
    {
        var exits = new ResourceExits();
        foreach (var name in names)
        {
            Assert.Null(exits.Observe(Id(name), name, "Starting", null, stopRequested: false));
            Assert.Null(exits.Observe(Id(name), name, "Running", null, stopRequested: false));
        }

        return exits;
    }

    private static string Id(string name) => name + "-abcdefgh";

    [Fact]
    public void A_killed_resource_exited_unexpectedly_with_its_name_state_and_exit_code()
    {
        var exits = Running(System);

        var exit = exits.Observe(Id("redis"), "redis", "Finished", -1, stopRequested: false);

        Assert.Equal(new ResourceExit("redis", "Finished", -1, StoppedOnRequest: false, Unexpected: true), exit);
        Assert.False(exits.EverythingStopped);
    }

    [Theory]
    [InlineData("Exited", 137)]
    [InlineData("FailedToStart", null)]
    [InlineData("Finished", 0)]
    public void Any_terminal_state_of_a_server_is_unexpected_even_exit_code_0(string state, int? exitCode)
    {
        var exits = Running(System);

        Assert.True(exits.Observe(Id("command-service"), "command-service", state, exitCode, stopRequested: false)?.Unexpected);
    }

    [Fact]
    public void Migrations_finishing_with_0_is_expected_and_with_another_code_is_not()
    {
        var done = Running(ResourceExits.Migrations);
        var failed = Running(ResourceExits.Migrations);

        Assert.False(done.Observe(Id("migrations"), ResourceExits.Migrations, "Finished", 0, stopRequested: false)!.Unexpected);
        Assert.True(failed.Observe(Id("migrations"), ResourceExits.Migrations, "Finished", 1, stopRequested: false)!.Unexpected);
        Assert.True(Running(ResourceExits.Migrations).Observe(Id("migrations"), ResourceExits.Migrations, "Exited", null, stopRequested: false)!.Unexpected);
    }

    [Fact]
    public void A_stop_someone_asked_for_is_expected()
    {
        var exits = Running(System);

        var exit = exits.Observe(Id("redis"), "redis", "Finished", -1, stopRequested: true);

        Assert.Equal(new ResourceExit("redis", "Finished", -1, StoppedOnRequest: true, Unexpected: false), exit);
    }

    [Fact]
    public void Only_the_change_into_a_terminal_state_is_an_exit_not_the_updates_after_it()
    {
        var exits = Running(System);

        Assert.NotNull(exits.Observe(Id("redis"), "redis", "Finished", -1, stopRequested: false));
        Assert.Null(exits.Observe(Id("redis"), "redis", "Finished", -1, stopRequested: false));
        Assert.Null(exits.Observe(Id("redis"), "redis", "Exited", -1, stopRequested: false));
    }

    [Fact]
    public void A_resource_first_seen_stopped_or_without_a_state_is_no_exit()
    {
        var exits = new ResourceExits();

        Assert.Null(exits.Observe(Id("redis"), "redis", "Finished", 0, stopRequested: false));
        Assert.Null(exits.Observe(Id("gateway"), "gateway", null, null, stopRequested: false));
        Assert.Null(exits.Observe(Id("gateway"), "gateway", "", null, stopRequested: false));
    }

    [Fact]
    public void Everything_stopped_once_the_last_resource_exits_without_a_request()
    {
        var exits = Running([ResourceExits.Migrations, .. System]);
        exits.Observe(Id("migrations"), ResourceExits.Migrations, "Finished", 0, stopRequested: false);

        foreach (var name in System)
        {
            Assert.False(exits.EverythingStopped, $"everything stopped before {name} did");
            exits.Observe(Id(name), name, "Finished", -1, stopRequested: false);
        }

        Assert.True(exits.EverythingStopped);
    }

    [Fact]
    public void Not_everything_stopped_while_a_resource_waits_or_after_one_was_stopped_on_request()
    {
        var waiting = Running(System);
        waiting.Observe(Id("gateway"), "gateway", "Waiting", null, stopRequested: false);
        var requested = Running(System);

        foreach (var name in System)
        {
            waiting.Observe(Id(name), name, "Finished", -1, stopRequested: false);
            requested.Observe(Id(name), name, "Finished", -1, stopRequested: name == "redis");
        }

        Assert.False(waiting.EverythingStopped);
        Assert.False(requested.EverythingStopped);
    }

    [Theory]
    [InlineData(-1, "-1 (none reported, as when a signal kills the process)")]
    [InlineData(null, "unknown")]
    [InlineData(137, "137")]
    public void The_exit_code_in_the_log_says_what_dcps_minus_1_means(int? exitCode, string text)
    {
        Assert.Equal(text, ResourceSupervisor.Describe(exitCode));
    }

    [Fact]
    public void A_restarted_resource_runs_again_and_its_next_exit_counts_again()
    {
        var exits = Running(System);
        foreach (var name in System)
        {
            exits.Observe(Id(name), name, "Finished", -1, stopRequested: name == "redis");
        }

        Assert.Null(exits.Observe(Id("redis"), "redis", "Starting", null, stopRequested: false));
        Assert.Null(exits.Observe(Id("redis"), "redis", "Running", null, stopRequested: false));
        Assert.False(exits.EverythingStopped);

        Assert.True(exits.Observe(Id("redis"), "redis", "Finished", -1, stopRequested: false)?.Unexpected);
        Assert.True(exits.EverythingStopped);
    }
}
