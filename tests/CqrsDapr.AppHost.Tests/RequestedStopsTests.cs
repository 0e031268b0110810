using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace CqrsDapr.AppHost.Tests;

/// <summary>
/// A stop someone asks for (the dashboard's Stop, Restart or Rebuild) is noted before the command runs, so the exit it
/// causes is not reported as a failure (<see cref="RequestedStops"/>). Aspire's commands are stand-ins here that
/// record their calls; the model is built, never started.
/// </summary>
public sealed class RequestedStopsTests : IDisposable
{
    private readonly TestDirectories directories = new();
    private readonly List<string> ran = [];

    public void Dispose() => directories.Dispose();

    /// <summary>A command as Aspire adds it to a resource, recording its runs.</summary>
    private ResourceCommandAnnotation Command(string name) => new(
        name,
        displayName: name.ToUpperInvariant(),
        updateState: _ => ResourceCommandState.Enabled,
        executeCommand: context =>
        {
            ran.Add($"{name} {context.ResourceName}");
            return Task.FromResult(CommandResults.Success());
        },
        displayDescription: "does " + name,
        arguments: null,
        confirmationMessage: null,
        iconName: "Stop",
        iconVariant: IconVariant.Filled,
        isHighlighted: true,
        visibility: ResourceCommandVisibility.UI,
        validateArguments: null);

    private static Task<ExecuteCommandResult> ExecuteAsync(IResource resource, string command, string resourceId) =>
        resource.Annotations.OfType<ResourceCommandAnnotation>().Single(c => c.Name == command).ExecuteCommand(new ExecuteCommandContext
        {
            Services = new ServiceCollection().BuildServiceProvider(),
            ResourceName = resourceId,
            CancellationToken = TestContext.Current.CancellationToken,
            Logger = NullLogger.Instance,
            Arguments = new InteractionInputCollection([]),
        });

    [Theory]
    [InlineData("stop")]
    [InlineData("restart")]
    [InlineData("rebuild")]
    public async Task A_stopping_command_notes_the_resource_then_runs_as_it_was(string name)
    {
        var stops = new RequestedStops();
        var redis = new ExecutableResource("redis", "redis-server", ".");
        var original = Command(name);
        redis.Annotations.Add(original);

        stops.Wrap(redis);
        var wrapped = Assert.Single(redis.Annotations.OfType<ResourceCommandAnnotation>());
        var result = await ExecuteAsync(redis, name, "redis-abcdefgh");

        Assert.True(result.Success);
        Assert.Equal([$"{name} redis-abcdefgh"], ran);
        Assert.True(stops.Take("redis-abcdefgh", "redis"));
        Assert.False(stops.Take("redis-abcdefgh", "redis")); // taken by the one exit it explains
        Assert.Equal((original.DisplayName, original.DisplayDescription, original.IconName, original.IsHighlighted, original.Visibility),
            (wrapped.DisplayName, wrapped.DisplayDescription, wrapped.IconName, wrapped.IsHighlighted, wrapped.Visibility));
        Assert.Same(original.UpdateState, wrapped.UpdateState);
    }

    [Fact]
    public async Task Start_and_other_commands_note_nothing_and_wrapping_again_adds_no_second_note()
    {
        var stops = new RequestedStops();
        var redis = new ExecutableResource("redis", "redis-server", ".");
        var start = Command("start");
        var custom = Command("rebuild-views");
        redis.Annotations.Add(start);
        redis.Annotations.Add(Command("stop"));
        redis.Annotations.Add(custom);

        stops.Wrap(redis);
        var stop = redis.Annotations.OfType<ResourceCommandAnnotation>().Single(c => c.Name == "stop");
        stops.Wrap(redis);
        await ExecuteAsync(redis, "start", "redis-abcdefgh");
        await ExecuteAsync(redis, "rebuild-views", "redis-abcdefgh");

        Assert.False(stops.Take("redis-abcdefgh", "redis"));
        Assert.Same(start, redis.Annotations.OfType<ResourceCommandAnnotation>().Single(c => c.Name == "start"));
        Assert.Same(custom, redis.Annotations.OfType<ResourceCommandAnnotation>().Single(c => c.Name == "rebuild-views"));
        Assert.Same(stop, redis.Annotations.OfType<ResourceCommandAnnotation>().Single(c => c.Name == "stop"));
    }

    [Fact]
    public async Task The_apphost_wraps_a_resources_stop_command_before_each_start_of_it()
    {
        await using var model = await AppHostModel.BuildAsync(directories.Args());
        var redis = model.Resource("redis");
        redis.Annotations.Add(Command("stop")); // what Aspire adds as it prepares the run

        await model.PublishAsync(new BeforeResourceStartedEvent(redis, new ServiceCollection().BuildServiceProvider()));
        await ExecuteAsync(redis, "stop", "redis-abcdefgh");

        Assert.Equal(["stop redis-abcdefgh"], ran);
        Assert.True(model.Service<RequestedStops>().Take("redis-abcdefgh", "redis"));
    }
}
