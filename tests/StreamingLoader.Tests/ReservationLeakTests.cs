using System.Reflection;
using System.Threading.Channels;
using FsCheck;
using FsCheck.Fluent;
using StreamingLoader.Batching;
using StreamingLoader.Datasets;
using StreamingLoader.Internal;

namespace StreamingLoader.Tests;

/// <summary>
/// The buffer reservation protocol inside a running loader: whatever the source, the regroup stage, the worker count,
/// the failing samples and the way the consumer stops (end of epoch, an error, leaving early, a canceled read), once the
/// loader is disposed every reservation has ended and every buffer is back in the pool. A channel read to its end needs
/// no disposal for that: when the epoch ends, no reservation is left and only the batches the consumer holds are leased.
/// </summary>
public class ReservationLeakTests
{
    private enum Stop
    {
        ReadToTheEnd,
        LeaveEarly,
        CancelRead,
        HoldBatches,
    }

    private enum Fault
    {
        None,
        Read,
        Transform,
        AsyncTransform,
    }

    [Fact]
    public void AnyStop_AfterDisposal_NoReservationLeftAndEveryBufferFree()
    {
        var scenarios =
            from count in Gen.Choose(0, 300)
            from batchSize in Gen.Choose(1, 16)
            from workers in Gen.Elements(1, 2, 4, 8)
            from stream in ArbMap.Default.GeneratorFor<bool>()
            from shuffleBuffer in Gen.Elements(0, 0, 8, 40)
            from ordered in ArbMap.Default.GeneratorFor<bool>()
            from skip in ArbMap.Default.GeneratorFor<bool>()
            from fault in Gen.Elements(Enum.GetValues<Fault>())
            from failAt in Gen.Choose(0, 300)
            from failCount in Gen.Elements(1, 1, 20)
            from stop in Gen.Elements(Enum.GetValues<Stop>())
            from stopAfter in Gen.Choose(0, 10)
            select new Scenario(count, batchSize, workers, stream, shuffleBuffer, ordered, skip, fault, failAt, failCount, stop, stopAfter);
        Prop.ForAll(scenarios.ToArbitrary(), s => RunAsync(s).GetAwaiter().GetResult()).Check(Config.QuickThrowOnFailure.WithMaxTest(150));
    }

    private static async Task<bool> RunAsync(Scenario s)
    {
        // A stream has no Read stage of its own: its read fault is a transform fault.
        bool Fails(long index) => index >= s.FailAt && index < s.FailAt + s.FailCount;
        var readFails = s.Fault == Fault.Read && !s.Stream;
        var channel = Channel.CreateUnbounded<Sample<float, long>>();
        for (var i = 0; i < s.Count; i++)
        {
            channel.Writer.TryWrite(Make(i));
        }

        channel.Writer.Complete();
        var source = s.Stream
            ? Pipeline.From(channel.Reader)
            : Pipeline.From(Dataset.FromFunc(s.Count, i => readFails && Fails(i) ? throw new InvalidDataException("corrupt") : Make(i)));
        var transformFails = s.Fault is Fault.Transform or Fault.AsyncTransform || (s.Fault == Fault.Read && s.Stream);
        var builder = s.Fault == Fault.AsyncTransform
            ? source.TransformAsync(async (sample, context, _) =>
            {
                await Task.Yield();
                return Fails(context.Index) ? throw new InvalidDataException("corrupt") : sample;
            })
            : source.Transform((sample, context) => transformFails && Fails(context.Index) ? throw new InvalidDataException("corrupt") : sample);
        var options = new LoaderOptions
        {
            BatchSize = s.BatchSize,
            Workers = s.Workers,
            Prefetch = 2,
            Ordered = s.Ordered,
            ShuffleBufferSize = s.ShuffleBuffer,
            ErrorPolicy = s.Skip ? ErrorPolicy.Skip : ErrorPolicy.Fail,
        };
        var loader = builder.Build(options);
        var pool = PoolOf(loader);
        var held = new List<Batch>();
        using var cancel = new CancellationTokenSource();
        var ended = false;
        try
        {
            var read = 0;
            await foreach (var batch in loader.ReadEpochAsync(cancel.Token))
            {
                if (s.Stop == Stop.HoldBatches && held.Count < 2)
                {
                    held.Add(batch);
                }
                else
                {
                    batch.Dispose();
                }

                if (++read > s.StopAfter && s.Stop == Stop.LeaveEarly)
                {
                    break;
                }

                if (read > s.StopAfter && s.Stop == Stop.CancelRead)
                {
                    await cancel.CancelAsync();
                }
            }

            ended = !cancel.IsCancellationRequested && (s.Stop != Stop.LeaveEarly || read <= s.StopAfter);
        }
        catch (Exception ex) when (ex is DataLoaderException or OperationCanceledException)
        {
        }

        if (ended && s.Stream)
        {
            // The channel is read once: at its end every block has completed, so nothing may be reserved any more.
            Check(s, "at the epoch's end", pool, reserved: 0, leased: held.Count);
        }

        await loader.DisposeAsync();
        held.ForEach(b => b.Dispose());
        Assert.Empty(loader.AbandonedWork);
        Check(s, "after disposal", pool, reserved: 0, leased: 0);
        return true;
    }

    private static void Check(Scenario s, string when, BatchPool pool, int reserved, int leased)
    {
        var (actualReserved, actualLeased, available) = (pool.Reserved, pool.Outstanding, pool.Available);
        Assert.True(
            actualReserved == reserved && actualLeased == leased && available == pool.Capacity - reserved - leased,
            $"{s}, {when}: {actualReserved} reserved (expected {reserved}), {actualLeased} leased (expected {leased}), {available} of {pool.Capacity} free");
    }

    private static Sample<float, long> Make(int i) => new(new[] { (float)i }, i);

    private static BatchPool PoolOf(DataLoader loader) =>
        (BatchPool)loader.GetType().GetProperty("Pool", BindingFlags.Instance | BindingFlags.NonPublic)!.GetValue(loader)!;

    private sealed record Scenario(
        int Count, int BatchSize, int Workers, bool Stream, int ShuffleBuffer, bool Ordered, bool Skip, Fault Fault, int FailAt, int FailCount, Stop Stop, int StopAfter);
}
