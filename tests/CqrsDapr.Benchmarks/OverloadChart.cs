using System.Globalization;
using ScottPlot;

namespace CqrsDapr.Benchmarks;

/// <summary>
/// The overload section's chart (PNG, ScottPlot): left, goodput against offered load, both as multiples of the
/// operation's capacity, with the ideal (all of the offered load up to capacity, then capacity); right, the admitted
/// requests' p99 latency against offered load, with the targets for reads and creates.
/// </summary>
internal static class OverloadChart
{
    /// <summary>One line of the chart: per multiple of capacity offered, goodput as a multiple of capacity and the admitted p99 in ms.</summary>
    public sealed record Series(string Name, IReadOnlyList<double> Offered, IReadOnlyList<double> Goodput, IReadOnlyList<double> P99Ms);

    public static void Write(string path, string subtitle, double readTargetMs, double createTargetMs, IReadOnlyList<Series> series)
    {
        var goodput = new Plot();
        var latency = new Plot();
        goodput.Font.Set("DejaVu Sans");
        latency.Font.Set("DejaVu Sans");
        var top = series.SelectMany(s => s.Offered).DefaultIfEmpty(4).Max();
        var ideal = goodput.Add.ScatterLine(new[] { 0, 1, top }, new[] { 0, 1, 1.0 }, Colors.Gray);
        ideal.LegendText = "ideal: capacity kept";
        ideal.LinePattern = LinePattern.Dashed;
        var palette = new ScottPlot.Palettes.Category10();
        for (var i = 0; i < series.Count; i++)
        {
            var color = palette.GetColor(i);
            var g = goodput.Add.Scatter(series[i].Offered.ToArray(), series[i].Goodput.ToArray(), color);
            (g.LegendText, g.MarkerSize, g.LineWidth) = (series[i].Name, 8, 2);
            var l = latency.Add.Scatter(series[i].Offered.ToArray(), series[i].P99Ms.ToArray(), color);
            (l.LegendText, l.MarkerSize, l.LineWidth) = (series[i].Name, 8, 2);
        }

        var readTarget = latency.Add.HorizontalLine(readTargetMs, 1, Colors.Gray, LinePattern.Dotted);
        readTarget.LegendText = string.Create(CultureInfo.InvariantCulture, $"target, reads: {readTargetMs:0} ms");
        var createTarget = latency.Add.HorizontalLine(createTargetMs, 1, Colors.Black, LinePattern.Dotted);
        createTarget.LegendText = string.Create(CultureInfo.InvariantCulture, $"target, creates: {createTargetMs:0} ms");

        goodput.Title($"Goodput (2xx/s) under overload\n{subtitle}", 13);
        goodput.XLabel("offered load (× capacity)");
        goodput.YLabel("goodput (× capacity)");
        goodput.Axes.SetLimits(0, top * 1.05, 0, Math.Max(1.2, series.SelectMany(s => s.Goodput).DefaultIfEmpty(1).Max() * 1.1));
        goodput.ShowLegend(Alignment.UpperLeft);

        latency.Title("Admitted requests' p99 latency", 14);
        latency.XLabel("offered load (× capacity)");
        latency.YLabel("p99 (ms, from the intended send time)");
        latency.Axes.SetLimits(0, top * 1.05, 0, Math.Max(createTargetMs, series.SelectMany(s => s.P99Ms).Where(double.IsFinite).DefaultIfEmpty(0).Max()) * 1.1);
        latency.ShowLegend(Alignment.UpperLeft);

        var figure = new Multiplot(goodput);
        figure.AddPlot(latency);
        figure.Layout = new ScottPlot.MultiplotLayouts.Columns();
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        figure.SavePng(path, 1400, 600);
    }
}
