using System.Globalization;

namespace StreamingLoader.Internal;

/// <summary>
/// The process's CPU budget and how long its threads waited for a CPU, read from the operating system where it says:
/// cores available are the processor count (affinity, <c>DOTNET_PROCESSOR_COUNT</c>) capped by the cgroup's CPU quota
/// (v2 <c>cpu.max</c>, v1 <c>cpu.cfs_quota_us</c>) when one is readable; the wait is the run-queue time of each thread
/// (Linux <c>/proc/self/task/*/schedstat</c>), summed and kept when threads end.
/// </summary>
internal static class ProcessCpu
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<int, long> ThreadWaits = [];
    private static long _endedThreadsWait;
    private static long _reported;
    private static bool _unreadable;

    /// <summary>Gets the cores this process may use: the processor count, capped by a cgroup CPU quota where one is set and readable.</summary>
    public static double CoresAvailable()
    {
        double cores = Environment.ProcessorCount;
        var quota = CgroupQuota("/proc/self/cgroup", "/sys/fs/cgroup");
        return quota is > 0 ? Math.Min(cores, quota.Value) : cores;
    }

    /// <summary>
    /// Gets the time, in seconds, the process's threads were ready to run and waited for a CPU, since the process
    /// started (threads that ended included, up to their last reading); null where the system does not say (not Linux).
    /// Never less than the value read before.
    /// </summary>
    public static double? RunQueueWaitSeconds()
    {
        lock (Gate)
        {
            if (_unreadable)
            {
                return null;
            }

            string[] tasks;
            try
            {
                tasks = Directory.GetDirectories("/proc/self/task");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _unreadable = true;
                return null;
            }

            var seen = new HashSet<int>();
            long current = 0;
            foreach (var task in tasks)
            {
                if (!int.TryParse(Path.GetFileName(task), NumberStyles.None, CultureInfo.InvariantCulture, out var id) || ReadWaitNanoseconds(task) is not { } wait)
                {
                    continue;
                }

                seen.Add(id);
                if (ThreadWaits.TryGetValue(id, out var last) && wait < last)
                {
                    // The id was reused by a new thread: the old one's wait stays counted.
                    _endedThreadsWait += last;
                }

                ThreadWaits[id] = wait;
                current += wait;
            }

            foreach (var ended in ThreadWaits.Keys.Where(id => !seen.Contains(id)).ToList())
            {
                _endedThreadsWait += ThreadWaits[ended];
                ThreadWaits.Remove(ended);
            }

            if (seen.Count == 0)
            {
                _unreadable = true;
                return null;
            }

            _reported = Math.Max(_reported, _endedThreadsWait + current);
            return _reported / 1e9;
        }
    }

    /// <summary>The second field of a thread's schedstat ("run wait slices"): nanoseconds spent waiting on a run queue.</summary>
    private static long? ReadWaitNanoseconds(string task)
    {
        Span<byte> text = stackalloc byte[128];
        int length;
        try
        {
            using var handle = File.OpenHandle(Path.Combine(task, "schedstat"));
            length = RandomAccess.Read(handle, text, 0);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The thread ended between the listing and the read.
            return null;
        }

        var fields = text[..length];
        var space = fields.IndexOf((byte)' ');
        if (space < 0)
        {
            return null;
        }

        fields = fields[(space + 1)..];
        return System.Buffers.Text.Utf8Parser.TryParse(fields, out long wait, out _) ? wait : null;
    }

    /// <summary>
    /// The tightest CPU quota, in cores, of the cgroup that <paramref name="membership"/> (a <c>/proc/PID/cgroup</c>)
    /// names and of its parents, under the cgroup file system at <paramref name="root"/>; null when none is set or readable.
    /// </summary>
    internal static double? CgroupQuota(string membership, string root)
    {
        try
        {
            if (!File.Exists(membership))
            {
                return null;
            }

            double? tightest = null;
            foreach (var line in File.ReadLines(membership))
            {
                var parts = line.Split(':', 3);
                if (parts.Length != 3)
                {
                    continue;
                }

                var controllers = parts[1].Split(',');
                if (parts[0] == "0" && parts[1].Length == 0)
                {
                    tightest = Min(tightest, Walk(root, parts[2], V2Quota));
                }
                else if (controllers.Contains("cpu"))
                {
                    var mount = Directory.Exists(Path.Combine(root, parts[1])) ? Path.Combine(root, parts[1]) : Path.Combine(root, "cpu");
                    tightest = Min(tightest, Walk(mount, parts[2], V1Quota));
                }
            }

            return tightest;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        static double? Min(double? a, double? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);
    }

    /// <summary>The tightest quota from the cgroup's folder up to the hierarchy's root.</summary>
    private static double? Walk(string mount, string path, Func<string, double?> quotaIn)
    {
        double? tightest = null;
        var relative = path.Trim('/');
        while (true)
        {
            var folder = relative.Length == 0 ? mount : Path.Combine(mount, relative);
            if (quotaIn(folder) is { } quota)
            {
                tightest = tightest is null ? quota : Math.Min(tightest.Value, quota);
            }

            if (relative.Length == 0)
            {
                return tightest;
            }

            var slash = relative.LastIndexOf('/');
            relative = slash < 0 ? string.Empty : relative[..slash];
        }
    }

    /// <summary>cgroup v2: <c>cpu.max</c> holds "quota period" or "max period".</summary>
    private static double? V2Quota(string folder)
    {
        var file = Path.Combine(folder, "cpu.max");
        if (!File.Exists(file))
        {
            return null;
        }

        var fields = File.ReadAllText(file).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return fields.Length == 2 && double.TryParse(fields[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var quota)
            && double.TryParse(fields[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var period) && period > 0
            ? quota / period
            : null;
    }

    /// <summary>cgroup v1: <c>cpu.cfs_quota_us</c> (-1 for none) over <c>cpu.cfs_period_us</c>.</summary>
    private static double? V1Quota(string folder)
    {
        var quotaFile = Path.Combine(folder, "cpu.cfs_quota_us");
        var periodFile = Path.Combine(folder, "cpu.cfs_period_us");
        if (!File.Exists(quotaFile) || !File.Exists(periodFile))
        {
            return null;
        }

        return double.TryParse(File.ReadAllText(quotaFile).Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var quota) && quota > 0
            && double.TryParse(File.ReadAllText(periodFile).Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var period) && period > 0
            ? quota / period
            : null;
    }
}
