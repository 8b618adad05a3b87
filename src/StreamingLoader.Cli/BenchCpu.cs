using System.Globalization;

namespace StreamingLoader.Cli;

/// <summary>CPU time of another process (a storage server the benchmark reads from), from Linux's <c>/proc/PID/stat</c>.</summary>
internal static class BenchCpu
{
    /// <summary>Clock ticks per second of <c>/proc/PID/stat</c>'s times (USER_HZ: 100 on every Linux build).</summary>
    private const double TicksPerSecond = 100;

    /// <summary>The user + system CPU seconds of process <paramref name="pid"/> so far; null without one or off Linux.</summary>
    public static double? OfProcess(int? pid)
    {
        if (pid is not { } id || !OperatingSystem.IsLinux())
        {
            return null;
        }

        var stat = File.ReadAllText($"/proc/{id}/stat");

        // Fields after the command name (in parentheses, which may hold spaces): state is field 3, utime 14, stime 15.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
    }
}
