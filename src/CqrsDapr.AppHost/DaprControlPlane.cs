namespace CqrsDapr.AppHost;

/// <summary>
/// The Dapr control plane a self-hosted daprd 1.16 needs for this system, as executables of this AppHost (what
/// <c>dapr init</c> would run as containers on fixed ports): <c>placement</c>, which daprd needs to host and find
/// actors, and <c>scheduler</c>, where daprd keeps actor reminders since 1.15 (the product actor sets none today;
/// without a scheduler, registering one would fail). Every port either listens on is allocated by Aspire, so
/// nothing takes a fixed default (50005, 50006, 8080, 9090, 8201, 2379, 2380) another process on the machine may use.
/// </summary>
/// <remarks>
/// daprd reaches both on their target ports (the ports the processes listen on; Aspire's proxy in front is for the
/// dashboard): the scheduler tells daprd which address to use from then on (<c>--override-broadcast-host-port</c>),
/// and that has to be one it really listens on.
/// </remarks>
internal sealed class DaprControlPlane
{
    private DaprControlPlane(IResourceBuilder<ExecutableResource> placement, IResourceBuilder<ExecutableResource> scheduler)
    {
        Placement = placement;
        Scheduler = scheduler;
    }

    public IResourceBuilder<ExecutableResource> Placement { get; }

    public IResourceBuilder<ExecutableResource> Scheduler { get; }

    /// <summary><c>--placement-host-address</c> for daprd.</summary>
    public ReferenceExpression PlacementAddress => Loopback(Placement.GetEndpoint("grpc"));

    /// <summary><c>--scheduler-host-address</c> for daprd.</summary>
    public ReferenceExpression SchedulerAddress => Loopback(Scheduler.GetEndpoint("grpc"));

    public static DaprControlPlane Add(IDistributedApplicationBuilder builder, DaprBinaries binaries, string daprDirectory)
    {
        var placement = builder.AddExecutable("dapr-placement", binaries.Placement, daprDirectory)
            .WithEndpoint(name: "grpc", scheme: "tcp")
            .WithEndpoint(name: "raft", scheme: "tcp")
            .WithHttpEndpoint(name: "healthz")
            .WithHttpEndpoint(name: "metrics")
            .WithHttpHealthCheck("/healthz", endpointName: "healthz");
        placement.WithArgs(
            "--port", TargetPort(placement, "grpc"),
            "--healthz-port", TargetPort(placement, "healthz"),
            "--metrics-port", TargetPort(placement, "metrics"),
            // One raft member (in memory, the default): its id and address.
            "--initial-cluster", ReferenceExpression.Create($"dapr-placement-0={Loopback(placement.GetEndpoint("raft"))}"));

        // The scheduler's embedded etcd remembers the peer address it was created with, and ports change at every
        // start: its data is started afresh each time (it would hold reminders and jobs, which this system has none of).
        var schedulerData = Path.Combine(daprDirectory, "scheduler");
        var scheduler = builder.AddExecutable("dapr-scheduler", binaries.Scheduler, daprDirectory)
            .WithEndpoint(name: "grpc", scheme: "tcp")
            .WithEndpoint(name: "etcd-client", scheme: "tcp")
            .WithEndpoint(name: "etcd-peer", scheme: "tcp")
            .WithHttpEndpoint(name: "healthz")
            .WithHttpEndpoint(name: "metrics")
            .WithHttpHealthCheck("/healthz", endpointName: "healthz");
        scheduler.WithArgs(
            "--port", TargetPort(scheduler, "grpc"),
            "--override-broadcast-host-port", Loopback(scheduler.GetEndpoint("grpc")),
            "--healthz-port", TargetPort(scheduler, "healthz"),
            "--metrics-port", TargetPort(scheduler, "metrics"),
            "--etcd-data-dir", schedulerData,
            "--etcd-client-port", TargetPort(scheduler, "etcd-client"),
            "--etcd-initial-cluster", ReferenceExpression.Create($"dapr-scheduler-server-0=http://{Loopback(scheduler.GetEndpoint("etcd-peer"))}"));
        builder.Eventing.Subscribe<BeforeResourceStartedEvent>(scheduler.Resource, (_, _) =>
        {
            if (Directory.Exists(schedulerData))
            {
                Directory.Delete(schedulerData, recursive: true);
            }

            return Task.CompletedTask;
        });

        return new DaprControlPlane(placement, scheduler);
    }

    private static EndpointReferenceExpression TargetPort(IResourceBuilder<ExecutableResource> resource, string endpoint) =>
        resource.GetEndpoint(endpoint).Property(EndpointProperty.TargetPort);

    private static ReferenceExpression Loopback(EndpointReference endpoint) =>
        ReferenceExpression.Create($"127.0.0.1:{endpoint.Property(EndpointProperty.TargetPort)}");
}
