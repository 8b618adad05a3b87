// A console application of its own, outside the StreamingLoader repository, built from the packed packages and
// TorchSharp-cpu alone: it trains one TorchSharp step on a batch from the loader.
using StreamingLoader;
using StreamingLoader.Datasets;
using StreamingLoader.TorchSharp;
using TorchSharp;
using static TorchSharp.torch;

// Loads libtorch first: where it cannot load, the exception says why and what to do.
TorchThreads.ApplyDefaults();

const int Samples = 64;
var random = new Random(1);
var x = new float[Samples * 3];
var y = new float[Samples];
for (var i = 0; i < Samples; i++)
{
    for (var j = 0; j < 3; j++)
    {
        x[(i * 3) + j] = (float)((random.NextDouble() * 2) - 1);
    }

    y[i] = (2 * x[i * 3]) - (3 * x[(i * 3) + 1]) + (0.5f * x[(i * 3) + 2]) + 1;
}

await using var loader = Pipeline.From(new TensorDataset<float, float>(x, [3], y, [1])).Build(new LoaderOptions { BatchSize = Samples });
manual_seed(1);
using var model = nn.Linear(3, 1);
using var criterion = nn.MSELoss();
using var optimizer = optim.SGD(model.parameters(), 0.1);
var before = model.weight!.data<float>().ToArray();

var result = await loader.TrainEpochAsync(model, criterion, optimizer);

var moved = model.weight!.data<float>().ToArray().Zip(before, (after, start) => Math.Abs(after - start)).Sum();
Console.WriteLine(FormattableString.Invariant($"trained {result.Batches} step on {result.Samples} samples: loss {result.MeanLoss:F4}, weights moved {moved:F4}"));
return result.Batches == 1 && moved > 0 ? 0 : 1;
