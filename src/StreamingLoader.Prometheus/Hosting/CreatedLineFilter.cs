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

    /// <summary>
    /// Removes, in place, the <c>_created</c> lines of counter, histogram and summary families from <paramref name="body"/>;
    /// returns the length of what is left at its start.
    /// </summary>
    public static int FilterInPlace(Span<byte> body)
    {
        var written = 0;
        var read = 0;
        var family = Range.All;
        var familyHasCreated = false;
        while (read < body.Length)
        {
            var end = body[read..].IndexOf((byte)'\n');
            var lineLength = end < 0 ? body.Length - read : end + 1;
            var line = body.Slice(read, lineLength);
            if (line.StartsWith(TypePrefix))
            {
                // "# TYPE name type": counters, histograms and summaries carry name_created samples.
                var rest = line[TypePrefix.Length..].TrimEnd("\r\n"u8);
                var space = rest.IndexOf((byte)' ');
                var name = space < 0 ? rest.Length : space;
                var type = space < 0 ? ReadOnlySpan<byte>.Empty : rest[(space + 1)..];
                familyHasCreated = type.SequenceEqual("counter"u8) || type.SequenceEqual("histogram"u8) || type.SequenceEqual("summary"u8);

                // Where the family's name will be once this line has moved to its place.
                family = new Range(written + TypePrefix.Length, written + TypePrefix.Length + name);
            }

            if (!(familyHasCreated && !line.StartsWith(TypePrefix) && IsCreatedSample(line, body[family])))
            {
                line.CopyTo(body[written..]);
                written += lineLength;
            }

            read += lineLength;
        }

        return written;
    }

    /// <summary>Copies <paramref name="body"/> without the <c>_created</c> lines (see <see cref="FilterInPlace"/>).</summary>
    public static byte[] Filter(ReadOnlySpan<byte> body)
    {
        var copy = body.ToArray();
        return copy[..FilterInPlace(copy)];
    }

    /// <summary>Gets the bytes of a string, for tests.</summary>
    internal static string Filter(string body) => Encoding.UTF8.GetString(Filter(Encoding.UTF8.GetBytes(body)));

    private static bool IsCreatedSample(ReadOnlySpan<byte> line, ReadOnlySpan<byte> family) =>
        line.Length > family.Length + Created.Length
        && line.StartsWith(family)
        && line[family.Length..].StartsWith(Created)
        && line[family.Length + Created.Length] is (byte)'{' or (byte)' ';
}
