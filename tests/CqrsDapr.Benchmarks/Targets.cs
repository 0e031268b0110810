namespace CqrsDapr.Benchmarks;

/// <summary>The "Targets" blocks: one line per target, its measured value and whether it was met.</summary>
internal static class Targets
{
    public static void Print(string name, string value, bool met) => Console.WriteLine($"   {name,-64} {value,-48} {(met ? "met" : "MISSED")}");
}
