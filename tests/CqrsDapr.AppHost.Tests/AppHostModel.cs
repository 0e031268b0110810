using System.Globalization;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;

namespace CqrsDapr.AppHost.Tests;

/// <summary>
/// The real AppHost's resource model, built through Aspire.Hosting.Testing and never started: what each resource would
/// be started with. Values known only at run time are shown by what they refer to: an endpoint's port as
/// <c>{resource.endpoint.Property}</c>, a parameter as <c>{param:name}</c>.
/// </summary>
internal sealed class AppHostModel : IAsyncDisposable
{
    private readonly IDistributedApplicationTestingBuilder builder;

    private AppHostModel(IDistributedApplicationTestingBuilder builder) => this.builder = builder;

    public static async Task<AppHostModel> BuildAsync(params string[] args) =>
        new(await DistributedApplicationTestingBuilder.CreateAsync<Projects.CqrsDapr_AppHost>(args, TestContext.Current.CancellationToken));

    public IReadOnlyList<string> ResourceNames => [.. builder.Resources.Select(r => r.Name)];

    public ExecutableResource Executable(string name) =>
        builder.Resources.OfType<ExecutableResource>().SingleOrDefault(r => r.Name == name)
        ?? throw new InvalidOperationException($"No executable resource '{name}' in {string.Join(", ", ResourceNames)}.");

    public IResource Resource(string name) => builder.Resources.Single(r => r.Name == name);

    /// <summary>A value of the AppHost's configuration as the model was built with it (Aspire's own keys included).</summary>
    public string? Setting(string key) => builder.Configuration[key];

    /// <summary>The command line arguments, rendered.</summary>
    public async Task<IReadOnlyList<string>> ArgsAsync(string name)
    {
        var resource = Executable(name);
        var args = new List<object>();
        var context = new CommandLineArgsCallbackContext(args, resource, TestContext.Current.CancellationToken);
        foreach (var annotation in resource.Annotations.OfType<CommandLineArgsCallbackAnnotation>())
        {
            await annotation.Callback(context);
        }

        return [.. args.Select(Render)];
    }

    /// <summary>The environment variables set for the resource, rendered.</summary>
    public async Task<IReadOnlyDictionary<string, string>> EnvironmentAsync(string name)
    {
        var resource = (IResourceWithEnvironment)Resource(name);
        var variables = new Dictionary<string, object>();
        var context = new EnvironmentCallbackContext(builder.ExecutionContext, resource, variables, TestContext.Current.CancellationToken);
        foreach (var annotation in resource.Annotations.OfType<EnvironmentCallbackAnnotation>())
        {
            await annotation.Callback(context);
        }

        return variables.ToDictionary(variable => variable.Key, variable => Render(variable.Value));
    }

    /// <summary>The resources this one waits for before it starts.</summary>
    public IReadOnlyList<string> WaitsFor(string name) =>
        [.. Resource(name).Annotations.OfType<WaitAnnotation>().Select(wait => wait.Resource.Name)];

    /// <summary>The endpoints a resource declares.</summary>
    public IReadOnlyList<string> Endpoints(string name) =>
        [.. Resource(name).Annotations.OfType<EndpointAnnotation>().Select(endpoint => endpoint.Name)];

    /// <summary>The generated value of a parameter.</summary>
    public async Task<string> ParameterAsync(string name) =>
        await builder.Resources.OfType<ParameterResource>().Single(p => p.Name == name).GetValueAsync(TestContext.Current.CancellationToken)
        ?? throw new InvalidOperationException($"Parameter {name} has no value.");

    /// <summary>Raises an event as Aspire would while the system runs, to the AppHost's subscribers.</summary>
    public Task PublishAsync<T>(T @event)
        where T : Aspire.Hosting.Eventing.IDistributedApplicationEvent =>
        builder.Eventing.PublishAsync(@event, TestContext.Current.CancellationToken);

    /// <summary>A service the AppHost registered as an instance (one of its own, shared by its parts).</summary>
    public T Service<T>() =>
        builder.Services.Where(service => service.ServiceType == typeof(T)).Select(service => service.ImplementationInstance).OfType<T>().Single();

    public ValueTask DisposeAsync() => builder.DisposeAsync();

    private static string Render(object? value) => value switch
    {
        null => "",
        string text => text,
        EndpointReferenceExpression property => $"{{{property.Endpoint.Resource.Name}.{property.Endpoint.EndpointName}.{property.Property}}}",
        EndpointReference endpoint => $"{{{endpoint.Resource.Name}.{endpoint.EndpointName}}}",
        ParameterResource parameter => $"{{param:{parameter.Name}}}",
        ReferenceExpression expression => string.Format(CultureInfo.InvariantCulture, expression.Format, [.. expression.ValueProviders.Select(Render)]),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? value.GetType().Name,
    };
}
