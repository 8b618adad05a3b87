using TorchSharp;
using static TorchSharp.torch;

namespace StreamingLoader.TorchSharp.Tests;

/// <summary>
/// One OpenMP team in the process: the training thread has the intra-op threads, every other thread runs libtorch on
/// one, and every pass runs on the training thread (single steps run where they are called, with that thread's one).
/// </summary>
public class TorchThreadsTests
{
    [Fact]
    public async Task ApplyDefaults_TrainingThreadGetsTheCount_EveryOtherThreadOne()
    {
        try
        {
            TorchThreads.ApplyDefaults(intraOpThreads: 3);
            Assert.Equal(3, TorchThreads.IntraOpThreads);

            // Main's thread, a thread libtorch has not seen yet and a pool thread all run single-threaded.
            Assert.Equal(1, get_num_threads());
            var fresh = 0;
            var thread = new Thread(() => fresh = get_num_threads());
            thread.Start();
            thread.Join();
            Assert.Equal(1, fresh);
            Assert.Equal(1, await Task.Run(get_num_threads));

            // Passes run on the one training thread with its 3.
            await using var loader = TorchEpochsTests.RegressionLoader(seed: 9);
            using var inner = TorchEpochsTests.Model();
            using var model = new ProbeModel(inner);
            using var criterion = nn.MSELoss();
            using var optimizer = optim.SGD(inner.parameters(), learningRate: 0.1);
            await loader.TrainEpochAsync(model, criterion, optimizer);
            await loader.EvaluateEpochAsync(model, criterion);

            Assert.Single(model.Threads);
            Assert.NotEqual(Environment.CurrentManagedThreadId, model.Threads.Single());
            Assert.Equal([3], model.IntraOpThreads);

            // Steps called from pool threads run there, on one thread each: no second team forms.
            var trainingThread = model.Threads.Single();
            model.Threads = [];
            model.IntraOpThreads.Clear();
            await TorchEpochsTests.TrainInHandlerAsync(loader, model, criterion, optimizer, epochs: 1);
            Assert.DoesNotContain(trainingThread, model.Threads);
            Assert.Equal([1], model.IntraOpThreads);

            // A second call changes the count.
            TorchThreads.ApplyDefaults(intraOpThreads: 2);
            model.IntraOpThreads.Clear();
            await loader.EvaluateEpochAsync(model, criterion);
            Assert.Equal([2], model.IntraOpThreads);
        }
        finally
        {
            TorchThreads.ApplyDefaults();
        }
    }

    [Fact]
    public void ApplyDefaults_WithoutACount_GivesTheTrainingThreadOnePerCore()
    {
        TorchThreads.ApplyDefaults();

        Assert.InRange(TorchThreads.IntraOpThreads!.Value, 1, Environment.ProcessorCount);
        Assert.Equal(1, get_num_threads());
        Assert.Throws<ArgumentOutOfRangeException>(() => TorchThreads.ApplyDefaults(intraOpThreads: 0));
    }
}
