using System.Threading.Tasks.Dataflow;
using StreamingLoader.Internal;

namespace StreamingLoader.Tests.Autotune;

/// <summary>The gate inside a block built for many workers: how many run at once follows its limit, the order is kept.</summary>
public sealed class WorkerGateTests
{
    [Fact]
    public async Task Wrap_BlockBuiltFor32_RunsAsManyAsTheLimitAndKeepsTheOrder()
    {
        var gate = new WorkerGate(2, CancellationToken.None);
        var running = 0;
        var most = new int[2];
        var phase = 0;
        int Work(int item)
        {
            var now = Interlocked.Increment(ref running);
            var seen = Volatile.Read(ref phase);
            int before;
            while (now > (before = Volatile.Read(ref most[seen])) && Interlocked.CompareExchange(ref most[seen], now, before) != before)
            {
            }

            Thread.Sleep(2);
            Interlocked.Decrement(ref running);
            return item;
        }

        var block = new TransformBlock<int, int>(gate.Wrap<int, int>(Work), new ExecutionDataflowBlockOptions { MaxDegreeOfParallelism = 32, BoundedCapacity = 64, EnsureOrdered = true });
        var output = new List<int>();
        var reading = Task.Run(async () =>
        {
            while (await block.OutputAvailableAsync())
            {
                while (block.TryReceive(out var item))
                {
                    output.Add(item);
                }
            }
        });

        for (var i = 0; i < 200; i++)
        {
            await block.SendAsync(i);
        }

        // Raise the limit while messages wait; the first phase's most was counted before the raise.
        while (gate.Messages < 100)
        {
            await Task.Delay(1);
        }

        Volatile.Write(ref phase, 1);
        gate.Resize(6);
        for (var i = 200; i < 600; i++)
        {
            await block.SendAsync(i);
        }

        block.Complete();
        await reading;

        Assert.Equal(Enumerable.Range(0, 600), output);
        Assert.InRange(most[0], 1, 2);
        Assert.InRange(most[1], 3, 6);
        Assert.Equal(600, gate.Messages);
        Assert.True(gate.Busy >= TimeSpan.FromMilliseconds(600 * 2), $"{gate.Busy}");
    }
}
