namespace CqrsDapr.TestSupport.Tests;

public sealed class FreePortTests
{
    [Fact]
    public void Never_hands_out_the_same_port_twice()
    {
        var ports = Enumerable.Range(0, 20).Select(_ => FreePort.Next()).ToList();

        Assert.Equal(ports.Count, ports.Distinct().Count());
        Assert.All(ports, port => Assert.InRange(port, 1024, 65535));
    }

    [Fact]
    public void Project_output_points_into_src_with_this_configuration()
    {
        var path = RepositoryPaths.ProjectOutput("CqrsDapr.DaprEmulator");

        Assert.True(File.Exists(Path.Combine(RepositoryPaths.Root, "CqrsDapr.sln")));
        Assert.Equal(
            Path.Combine(RepositoryPaths.Root, "src", "CqrsDapr.DaprEmulator", "bin", RepositoryPaths.Configuration, "net10.0", "CqrsDapr.DaprEmulator.dll"),
            path);
    }
}
