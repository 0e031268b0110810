using System.Globalization;

namespace CqrsDapr.Benchmarks;

/// <summary>4. Peak (VmHWM) and current (VmRSS) resident memory of each process of the system, read at the end.</summary>
internal static class MemoryReport
{
    public const double ServiceLimitMb = 250;

    /// <summary>Prints the table; returns the service (command, query, gateway) with the highest peak, if any was found.</summary>
    public static (string Role, double Mb)? Print(SystemProcesses system, string when = "at the end")
    {
        Console.WriteLine();
        Console.WriteLine($"4. Memory per process {when} (peak = VmHWM, the largest resident set since start); target: each service ≤ {ServiceLimitMb:F0} MB.");
        if (system.Processes.Count == 0)
        {
            Console.WriteLine("   no process of the system found");
            return null;
        }

        Console.WriteLine($"   {"process",-42} {"pid",8} {"peak MB",8} {"now MB",8}");
        (string Role, double Mb)? largest = null;
        foreach (var process in system.Processes)
        {
            var (peakKb, currentKb) = SystemProcesses.Memory(process.Pid);
            var (peak, current) = (peakKb / 1024.0, currentKb / 1024.0);
            var note = process.IsService ? (peak <= ServiceLimitMb ? "  met" : "  MISSED") : "";
            if (process.Role.StartsWith("postgres", StringComparison.Ordinal))
            {
                var (children, privateKb) = SystemProcesses.PostgresChildren(process.Pid);
                note = string.Create(CultureInfo.InvariantCulture, $"  postmaster; {children} children, {privateKb / 1024.0:F0} MB private (RssAnon) together");
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   {process.Role,-42} {process.Pid,8} {peak,8:F0} {current,8:F0}{note}"));
            if (process.IsService && (largest is null || peak > largest.Value.Mb))
            {
                largest = (process.Role, peak);
            }
        }

        return largest;
    }
}
