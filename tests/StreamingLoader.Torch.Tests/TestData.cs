using StreamingLoader.Torch;
using StreamingLoader.Datasets;

namespace StreamingLoader.Torch.Tests;

/// <summary>Datasets and loaders the tests share: synthetic regression data and Debian's Fashion-MNIST files.</summary>
internal static class TestData
{
    public static readonly float[] TrueWeights = [2f, -3f, 0.5f];
    public const float TrueBias = 1f;

    private static readonly Lazy<IdxDataset> FashionTrainSet = new(() => FashionMnist.Load(train: true));
    private static readonly Lazy<IdxDataset> FashionTestSet = new(() => FashionMnist.Load(train: false));

    public static IdxDataset FashionTrain => FashionTrainSet.Value;

    public static IdxDataset FashionTest => FashionTestSet.Value;

    public static string DataFile(string name) => Path.Combine(AppContext.BaseDirectory, "Data", name);

    /// <summary>y = 2·x₀ − 3·x₁ + 0.5·x₂ + 1 for x uniform in [−1, 1]³, without noise.</summary>
    public static TensorDataset<float, float> Regression(int count, int seed = 7)
    {
        var random = new Random(seed);
        var x = new float[count * 3];
        var y = new float[count];
        for (var i = 0; i < count; i++)
        {
            var sum = TrueBias;
            for (var j = 0; j < 3; j++)
            {
                x[(i * 3) + j] = (float)((random.NextDouble() * 2) - 1);
                sum += TrueWeights[j] * x[(i * 3) + j];
            }

            y[i] = sum;
        }

        return new TensorDataset<float, float>(x, [3], y, [1]);
    }

    /// <summary>A classification set: 4 features, 3 classes separated by the sign pattern of two features.</summary>
    public static TensorDataset<float, long> Classification(int count, int seed = 11)
    {
        var random = new Random(seed);
        var x = new float[count * 4];
        var y = new long[count];
        for (var i = 0; i < count; i++)
        {
            for (var j = 0; j < 4; j++)
            {
                x[(i * 4) + j] = (float)((random.NextDouble() * 2) - 1);
            }

            y[i] = x[i * 4] > 0.3f ? 2 : x[(i * 4) + 1] > 0 ? 1 : 0;
        }

        return new TensorDataset<float, long>(x, [4], y);
    }

    public static DataLoader Loader<TFeature, TLabel>(TensorDataset<TFeature, TLabel> dataset, int batchSize, bool shuffle = true, int workers = 2, int poolSize = LoaderOptions.Auto, ulong seed = 3)
        where TFeature : unmanaged
        where TLabel : unmanaged =>
        Pipeline.From(dataset).Build(new LoaderOptions { BatchSize = batchSize, Shuffle = shuffle, Workers = workers, Seed = seed, PoolSize = poolSize });

    public static DataLoader FashionLoader(bool train, int batchSize = 64, ulong seed = 0, int workers = 2)
    {
        var data = train ? FashionTrain : FashionTest;
        return Pipeline.From(data).Build(
            data.CreateCollator(FashionMnist.Mean, FashionMnist.Std),
            new LoaderOptions { BatchSize = batchSize, Shuffle = train, Seed = seed, Workers = workers });
    }

    /// <summary>The model's outputs for a fixed probe input: equal outputs mean equal weights.</summary>
    public static float[] Probe(TorchModel model, int features)
    {
        var input = new float[4 * features];
        for (var i = 0; i < input.Length; i++)
        {
            input[i] = MathF.Sin(i * 0.37f);
        }

        return model.Predict(input, [4, features]);
    }
}

/// <summary>A test that needs a CUDA device; skipped, with the reason, where libtorch sees none.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute()
    {
        if (!TorchRuntime.IsCudaAvailable)
        {
            Skip = $"Needs a CUDA device: libtorch {TorchRuntime.Version} reports none (torch::cuda::is_available() is false{(TorchRuntime.BuiltWithCuda ? string.Empty : "; the bridge was built against a CPU-only libtorch")}).";
        }
    }
}
