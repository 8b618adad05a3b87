using System.Text;

namespace StreamingLoader.Prometheus.Hosting;

/// <summary>
/// Drops OpenMetrics' <c>_created</c> lines (each counter's and histogram's start time) from a scrape. Prometheus 2
/// stores each as a series of its own, a quarter of a process's series with nothing to plot; the counters' resets
/// already tell rate() where a run starts.
/// </summary>
internal static class CreatedLineFilter
{
    private static readonly byte[] TypePrefix = "# TYPE "u8.ToArray();
    private static readonly byte[] Created = "_created"u8.ToArray();

    /// <summary>Gets whether a response of this content type is OpenMetrics (the only format with <c>_created</c> lines).</summary>
    public static bool Applies(string? contentType) =>
        contentType?.StartsWith("application/openmetrics-text", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>Copies <paramref name="body"/> without the <c>_created</c> lines of counter, histogram and summary families.</summary>
    public static byte[] Filter(ReadOnlySpan<byte> body)
    {
        var output = new byte[body.Length];
        var written = 0;
        var family = ReadOnlySpan<byte>.Empty;
        var familyHasCreated = false;
        while (!body.IsEmpty)
        {
            var end = body.IndexOf((byte)'\n');
            var line = end < 0 ? body : body[..(end + 1)];
            body = body[line.Length..];

            if (line.StartsWith(TypePrefix))
            {
                // "# TYPE name type": counters, histograms and summaries carry name_created samples.
                var rest = line[TypePrefix.Length..].TrimEnd("\r\n"u8);
                var space = rest.IndexOf((byte)' ');
                family = space < 0 ? rest : rest[..space];
                var type = space < 0 ? ReadOnlySpan<byte>.Empty : rest[(space + 1)..];
                familyHasCreated = type.SequenceEqual("counter"u8) || type.SequenceEqual("histogram"u8) || type.SequenceEqual("summary"u8);
            }
            else if (familyHasCreated && IsCreatedSample(line, family))
            {
                continue;
            }

            line.CopyTo(output.AsSpan(written));
            written += line.Length;
        }

        return output[..written];
    }

    /// <summary>Gets the bytes of a string, for tests.</summary>
    internal static string Filter(string body) => Encoding.UTF8.GetString(Filter(Encoding.UTF8.GetBytes(body)));

    private static bool IsCreatedSample(ReadOnlySpan<byte> line, ReadOnlySpan<byte> family) =>
        line.Length > family.Length + Created.Length
        && line.StartsWith(family)
        && line[family.Length..].StartsWith(Created)
        && line[family.Length + Created.Length] is (byte)'{' or (byte)' ';
}
