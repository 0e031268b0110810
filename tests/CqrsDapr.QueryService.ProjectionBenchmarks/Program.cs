namespace CqrsDapr.QueryService.ProjectionBenchmarks;

// dotnet run -c Release --project tests/CqrsDapr.QueryService.ProjectionBenchmarks [-- [--rebuild] [--quick] ...]
//   (no flag)  live projection throughput: LiveProjectionBenchmark (--concurrency N)
//   --rebuild  rebuild throughput from the real command service's event log: RebuildBenchmark (--page-sizes 500,2000)
internal static class ProjectionBenchmark
{
    public static Task<int> Main(string[] args) =>
        args.Contains("--rebuild") ? RebuildBenchmark.RunAsync(args) : LiveProjectionBenchmark.RunAsync(args);
}
