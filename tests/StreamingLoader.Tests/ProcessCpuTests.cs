using System.Diagnostics;
using StreamingLoader.Internal;

namespace StreamingLoader.Tests;

/// <summary>The process's CPU budget (processor count capped by a cgroup quota) and its threads' run-queue wait.</summary>
public class ProcessCpuTests
{
    [Fact]
    public void RunQueueWait_MoreBusyThreadsThanCores_GrowsAndNeverDecreasesWhenThreadsEnd()
    {
        Assert.Equal(OperatingSystem.IsLinux(), ProcessCpu.RunQueueWaitSeconds() is not null);
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var before = ProcessCpu.RunQueueWaitSeconds()!.Value;
        using var stop = new ManualResetEventSlim();
        var busy = Enumerable.Range(0, 4 * Environment.ProcessorCount)
            .Select(_ => new Thread(() =>
            {
                while (!stop.IsSet)
                {
                    Thread.SpinWait(1000);
                }
            }))
            .ToList();
        busy.ForEach(t => t.Start());

        // Overwhelming: four busy threads per core wait three quarters of the time at the least.
        var during = before;
        var deadline = Stopwatch.StartNew();
        while (during - before < 1 && deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            Thread.Sleep(100);
            during = ProcessCpu.RunQueueWaitSeconds()!.Value;
        }

        stop.Set();
        busy.ForEach(t => t.Join());
        var after = ProcessCpu.RunQueueWaitSeconds()!.Value;

        Assert.True(during - before >= 1, $"run-queue wait grew {during - before:F2} s");
        Assert.True(after >= during, $"after the threads ended {after} < {during}");
    }

    [Fact]
    public void CoresAvailable_ThisProcess_BetweenZeroAndTheProcessorCount()
    {
        Assert.InRange(ProcessCpu.CoresAvailable(), 0.01, Environment.ProcessorCount);
    }

    [Fact]
    public void CgroupQuota_V1AndV2Hierarchies_TightestOfTheGroupAndItsParents()
    {
        var root = Directory.CreateTempSubdirectory("cgroup-test").FullName;
        try
        {
            // v2: 1.5 cores at /job, none at /job/step.
            Directory.CreateDirectory(Path.Combine(root, "v2", "job", "step"));
            File.WriteAllText(Path.Combine(root, "v2", "cpu.max"), "max 100000\n");
            File.WriteAllText(Path.Combine(root, "v2", "job", "cpu.max"), "150000 100000\n");
            File.WriteAllText(Path.Combine(root, "v2", "job", "step", "cpu.max"), "max 100000\n");
            File.WriteAllText(Path.Combine(root, "v2.cgroup"), "0::/job/step\n");

            // v1: cpu,cpuacct mounted together, 0.5 cores at /a/b, 3 at /a, none at the root.
            Directory.CreateDirectory(Path.Combine(root, "v1", "cpu,cpuacct", "a", "b"));
            void V1(string folder, string quota)
            {
                File.WriteAllText(Path.Combine(folder, "cpu.cfs_quota_us"), quota + "\n");
                File.WriteAllText(Path.Combine(folder, "cpu.cfs_period_us"), "100000\n");
            }

            V1(Path.Combine(root, "v1", "cpu,cpuacct"), "-1");
            V1(Path.Combine(root, "v1", "cpu,cpuacct", "a"), "300000");
            V1(Path.Combine(root, "v1", "cpu,cpuacct", "a", "b"), "50000");
            File.WriteAllText(Path.Combine(root, "v1.cgroup"), "5:memory:/x\n4:cpu,cpuacct:/a/b\n1:name=systemd:/\n");
            File.WriteAllText(Path.Combine(root, "none.cgroup"), "4:cpu,cpuacct:/\n");

            Assert.Equal(1.5, ProcessCpu.CgroupQuota(Path.Combine(root, "v2.cgroup"), Path.Combine(root, "v2")));
            Assert.Equal(0.5, ProcessCpu.CgroupQuota(Path.Combine(root, "v1.cgroup"), Path.Combine(root, "v1")));
            Assert.Null(ProcessCpu.CgroupQuota(Path.Combine(root, "none.cgroup"), Path.Combine(root, "v1")));
            Assert.Null(ProcessCpu.CgroupQuota(Path.Combine(root, "missing.cgroup"), Path.Combine(root, "v1")));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
