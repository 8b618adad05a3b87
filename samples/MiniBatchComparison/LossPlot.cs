using System.Globalization;
using System.Security;
using System.Text;

namespace StreamingLoader.Samples.MiniBatchComparison;

/// <summary>Draws the loss curves as a standalone SVG: axes, ticks, labels and a legend, no library.</summary>
internal static class LossPlot
{
    private const int PanelWidth = 520;
    private const int PanelHeight = 400;
    private const int Left = 72;
    private const int Right = 16;
    private const int Top = 56;
    private const int Bottom = 56;
    private static readonly string[] Colors = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];

    public static string Svg(IReadOnlyList<RunCurve> runs, double minimum, ComparisonOptions options)
    {
        var width = 2 * PanelWidth;
        var height = PanelHeight + 70;
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">""").Append('\n');
        svg.Append(CultureInfo.InvariantCulture, $"""<rect width="{width}" height="{height}" fill="white"/>""").Append('\n');
        svg.Append(CultureInfo.InvariantCulture, $"""<text x="{width / 2}" y="22" text-anchor="middle" font-size="16" font-weight="bold">SGD (batch size 1) vs mini-batch gradient descent: y = w·x + b, lr {options.LearningRate}, {options.Epochs} epochs</text>""").Append('\n');

        // Left: every epoch on a log scale. Right: the second half, linear, where the runs have settled.
        var epochs = options.Epochs;
        var all = runs.SelectMany(r => r.FullLoss).Where(v => v > 0).Append(minimum).ToArray();
        Panel(svg, 0, runs, minimum, 0, epochs, all.Min(), all.Max(), logY: true, "Loss over the whole dataset per epoch (log scale)");

        var from = epochs / 2;
        var settled = runs.SelectMany(r => r.FullLoss[from..]).Append(minimum).ToArray();
        var (low, high) = (settled.Min(), settled.Max());
        var pad = Math.Max((high - low) * 0.08, Math.Abs(high) * 1e-4);
        Panel(svg, PanelWidth, runs, minimum, from, epochs, low - pad, high + pad, logY: false, $"Epochs {from}–{epochs}, linear scale: where each run settles");

        Legend(svg, runs, PanelWidth - Right - 292, Top + 14);
        svg.Append(CultureInfo.InvariantCulture, $"""<text x="{width / 2}" y="{height - 14}" text-anchor="middle" fill="#555">Each epoch is one pass over the 100 points: batch size B makes 100/B updates per epoch. Loss = mean squared error over all 100 points after the epoch.</text>""").Append('\n');
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static void Panel(StringBuilder svg, int x0, IReadOnlyList<RunCurve> runs, double minimum, int fromEpoch, int toEpoch, double yMin, double yMax, bool logY, string title)
    {
        double plotLeft = x0 + Left, plotRight = x0 + PanelWidth - Right, plotTop = Top, plotBottom = PanelHeight - Bottom + Top - 16;
        var (lo, hi) = logY ? (Math.Floor(Math.Log10(yMin)), Math.Ceiling(Math.Log10(yMax))) : (yMin, yMax);
        if (hi <= lo)
        {
            hi = lo + 1;
        }

        double X(double epoch) => plotLeft + ((epoch - fromEpoch) / Math.Max(1, toEpoch - fromEpoch) * (plotRight - plotLeft));
        double Y(double value) => plotBottom - (((logY ? Math.Log10(value) : value) - lo) / (hi - lo) * (plotBottom - plotTop));

        svg.Append(Invariant($"""<text x="{(plotLeft + plotRight) / 2:F1}" y="{plotTop - 10:F1}" text-anchor="middle" font-size="13" font-weight="bold">{Escape(title)}</text>""")).Append('\n');

        // Grid and y ticks.
        foreach (var (value, label) in logY ? LogTicks(lo, hi) : LinearTicks(lo, hi))
        {
            var y = Y(value);
            svg.Append(Invariant($"""<line x1="{plotLeft:F1}" y1="{y:F1}" x2="{plotRight:F1}" y2="{y:F1}" stroke="#e5e5e5"/>""")).Append('\n');
            svg.Append(Invariant($"""<text x="{plotLeft - 6:F1}" y="{y + 4:F1}" text-anchor="end">{label}</text>""")).Append('\n');
        }

        // x ticks.
        foreach (var (value, label) in LinearTicks(fromEpoch, toEpoch))
        {
            var x = X(value);
            svg.Append(Invariant($"""<line x1="{x:F1}" y1="{plotBottom:F1}" x2="{x:F1}" y2="{plotBottom + 5:F1}" stroke="black"/>""")).Append('\n');
            svg.Append(Invariant($"""<text x="{x:F1}" y="{plotBottom + 19:F1}" text-anchor="middle">{label}</text>""")).Append('\n');
        }

        // Axes and their labels.
        svg.Append(Invariant($"""<polyline points="{plotLeft:F1},{plotTop:F1} {plotLeft:F1},{plotBottom:F1} {plotRight:F1},{plotBottom:F1}" fill="none" stroke="black"/>""")).Append('\n');
        svg.Append(Invariant($"""<text x="{(plotLeft + plotRight) / 2:F1}" y="{plotBottom + 40:F1}" text-anchor="middle">epoch</text>""")).Append('\n');
        var yLabelX = x0 + 16;
        var yLabelY = (plotTop + plotBottom) / 2;
        svg.Append(Invariant($"""<text x="{yLabelX:F1}" y="{yLabelY:F1}" text-anchor="middle" transform="rotate(-90 {yLabelX:F1} {yLabelY:F1})">MSE over all points{(logY ? " (log)" : string.Empty)}</text>""")).Append('\n');

        // The least-squares minimum, then one curve per batch size, clipped to the plot.
        svg.Append(Invariant($"""<clipPath id="clip{x0}"><rect x="{plotLeft:F1}" y="{plotTop:F1}" width="{plotRight - plotLeft:F1}" height="{plotBottom - plotTop:F1}"/></clipPath>""")).Append('\n');
        svg.Append(Invariant($"""<g clip-path="url(#clip{x0})">""")).Append('\n');
        svg.Append(Invariant($"""<line x1="{plotLeft:F1}" y1="{Y(minimum):F1}" x2="{plotRight:F1}" y2="{Y(minimum):F1}" stroke="#555" stroke-dasharray="6 4"/>""")).Append('\n');
        for (var r = 0; r < runs.Count; r++)
        {
            var points = new StringBuilder();
            for (var epoch = fromEpoch; epoch <= toEpoch && epoch < runs[r].FullLoss.Length; epoch++)
            {
                points.Append(Invariant($"{X(epoch):F1},{Y(Math.Max(runs[r].FullLoss[epoch], 1e-12)):F1} "));
            }

            svg.Append(Invariant($"""<polyline points="{points.ToString().TrimEnd()}" fill="none" stroke="{Colors[r % Colors.Length]}" stroke-width="1.8"/>""")).Append('\n');
        }

        svg.Append("</g>\n");
    }

    private static void Legend(StringBuilder svg, IReadOnlyList<RunCurve> runs, double x, double y)
    {
        var rows = runs.Count + 1;
        svg.Append(Invariant($"""<rect x="{x - 8:F1}" y="{y - 14:F1}" width="290" height="{(rows * 18) + 8}" fill="white" fill-opacity="0.9" stroke="#999"/>""")).Append('\n');
        for (var r = 0; r < runs.Count; r++)
        {
            var run = runs[r];
            var rowY = y + (r * 18);
            var name = run.BatchSize == 1 ? "batch size 1 (SGD)" : $"batch size {run.BatchSize}";
            svg.Append(Invariant($"""<line x1="{x:F1}" y1="{rowY - 4:F1}" x2="{x + 26:F1}" y2="{rowY - 4:F1}" stroke="{Colors[r % Colors.Length]}" stroke-width="2.5"/>""")).Append('\n');
            svg.Append(Invariant($"""<text x="{x + 34:F1}" y="{rowY:F1}">{name}, {run.UpdatesPerEpoch} updates/epoch</text>""")).Append('\n');
        }

        var lastY = y + (runs.Count * 18);
        svg.Append(Invariant($"""<line x1="{x:F1}" y1="{lastY - 4:F1}" x2="{x + 26:F1}" y2="{lastY - 4:F1}" stroke="#555" stroke-dasharray="6 4"/>""")).Append('\n');
        svg.Append(Invariant($"""<text x="{x + 34:F1}" y="{lastY:F1}">least-squares minimum</text>""")).Append('\n');
    }

    /// <summary>Decades, with 2 and 5 between them when the range spans few decades.</summary>
    private static IEnumerable<(double Value, string Label)> LogTicks(double lo, double hi)
    {
        for (var exponent = (int)lo; exponent <= (int)hi; exponent++)
        {
            foreach (var mantissa in hi - lo <= 2 ? (int[])[1, 2, 5] : [1])
            {
                var value = mantissa * Math.Pow(10, exponent);
                if (Math.Log10(value) <= hi + 1e-9)
                {
                    yield return (value, value.ToString("0.###############", CultureInfo.InvariantCulture));
                }
            }
        }
    }

    /// <summary>Round steps of 1, 2 or 5 × 10ᵏ, at most about 8 ticks.</summary>
    private static IEnumerable<(double Value, string Label)> LinearTicks(double lo, double hi)
    {
        var raw = (hi - lo) / 8;
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var normalized = raw / magnitude;
        var step = (normalized <= 1 ? 1 : normalized <= 2 ? 2 : normalized <= 5 ? 5 : 10) * magnitude;
        var decimals = Math.Max(0, -(int)Math.Floor(Math.Log10(step)));
        for (var value = Math.Ceiling(lo / step) * step; value <= hi + (step * 1e-9); value += step)
        {
            yield return (value, value.ToString("F" + decimals, CultureInfo.InvariantCulture));
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static string Escape(string text) => SecurityElement.Escape(text);
}
