using System.Diagnostics;

namespace StreamingLoader.Prometheus.Tests.Infrastructure;

/// <summary>
/// Busy processes (<c>sh</c> spinning in a loop) pinned with <c>taskset</c> to some CPUs, to starve whatever else runs
/// there: more runnable threads than cores. Killed when disposed.
/// </summary>
internal sealed class CpuHogs : IDisposable
{
    private readonly List<Process> _hogs = [];

    public CpuHogs(int count, string cpus)
    {
        for (var i = 0; i < count; i++)
        {
            var start = new ProcessStartInfo(Tools.Find("taskset")) { UseShellExecute = false };
            foreach (var argument in new[] { "--cpu-list", cpus, "/bin/sh", "-c", "while :; do :; done" })
            {
                start.ArgumentList.Add(argument);
            }

            _hogs.Add(Process.Start(start)!);
        }
    }

    public void Dispose()
    {
        foreach (var hog in _hogs)
        {
            try
            {
                hog.Kill();
                hog.WaitForExit();
            }
            catch (InvalidOperationException)
            {
            }

            hog.Dispose();
        }
    }
}
