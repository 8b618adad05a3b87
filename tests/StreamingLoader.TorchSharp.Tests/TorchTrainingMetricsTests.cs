using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using TorchSharp;
using static TorchSharp.torch;
using StreamingLoader.Datasets;

namespace StreamingLoader.TorchSharp.Tests;

/// <summary>
/// What the dashboard's training row reads: per pipeline and mode, the last pass's loss and accuracy, passes completed,
/// steps into the pass and per pass, the pass's duration and the learning rate, equal to what the passes returned.
/// </summary>
public class TorchTrainingMetricsTests
{
    [Fact]
    public async Task Gauges_TrainAndEvaluateAClassifier_ReportEachPassByPipelineAndMode()
    {
        var seen = new ConcurrentDictionary<(string Instrument, string Pipeline, string Mode), double>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == TorchSharpMetrics.MeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? pipeline = null, mode = null;
            foreach (var tag in tags)
            {
                pipeline = tag.Key == TorchSharpMetrics.PipelineTag ? tag.Value as string : pipeline;
                mode = tag.Key == TorchSharpMetrics.ModeTag ? tag.Value as string : mode;
            }

            if (pipeline is "metrics-train" or "metrics-eval")
            {
                seen.AddOrUpdate((instrument.Name, pipeline, mode!), value, (_, old) => instrument is ObservableInstrument<double> ? value : old + value);
            }
        }

        listener.SetMeasurementEventCallback<double>((i, v, t, _) => Record(i, v, t));
        listener.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
        listener.Start();

        await using var train = Classes(name: "metrics-train");
        await using var eval = Classes(name: "metrics-eval");
        using var model = nn.Linear(2, 2);
        using var criterion = nn.CrossEntropyLoss();
        using var optimizer = optim.SGD(model.parameters(), learningRate: 0.05);
        await train.TrainEpochAsync(model, criterion, optimizer);
        var trained = await train.TrainEpochAsync(model, criterion, optimizer);
        var evaluated = await eval.EvaluateEpochAsync(model, criterion);
        listener.RecordObservableInstruments();

        Assert.Equal(trained.MeanLoss, seen[("streamingloader.torch.loss", "metrics-train", "train")], 9);
        Assert.Equal(trained.Accuracy, seen[("streamingloader.torch.accuracy", "metrics-train", "train")], 9);
        Assert.Equal(evaluated.MeanLoss, seen[("streamingloader.torch.loss", "metrics-eval", "eval")], 9);
        Assert.Equal(evaluated.Accuracy, seen[("streamingloader.torch.accuracy", "metrics-eval", "eval")], 9);
        Assert.Equal(2, seen[("streamingloader.torch.epoch", "metrics-train", "train")]);
        Assert.Equal(1, seen[("streamingloader.torch.epoch", "metrics-eval", "eval")]);
        Assert.Equal(4, seen[("streamingloader.torch.epoch.step", "metrics-train", "train")]);
        Assert.Equal(4, seen[("streamingloader.torch.epoch.steps", "metrics-train", "train")]);
        Assert.Equal(8, seen[("streamingloader.torch.steps", "metrics-train", "train")]);
        Assert.Equal(trained.Elapsed.TotalSeconds, seen[("streamingloader.torch.epoch.duration", "metrics-train", "train")], 9);
        Assert.Equal(0.05, seen[("streamingloader.torch.learning_rate", "metrics-train", "train")], 9);
        Assert.False(seen.ContainsKey(("streamingloader.torch.learning_rate", "metrics-eval", "eval")));
    }

    /// <summary>100 samples of two classes told apart by the sign of x0, in 4 batches.</summary>
    private static DataLoader Classes(string name)
    {
        var features = new float[200];
        var labels = new long[100];
        for (var i = 0; i < 100; i++)
        {
            features[2 * i] = (i % 2 == 0 ? 1 : -1) * (1 + (i % 7));
            features[(2 * i) + 1] = i % 5;
            labels[i] = i % 2 == 0 ? 1 : 0;
        }

        return Pipeline.From(new TensorDataset<float, long>(features, [2], labels)).Build(new LoaderOptions { BatchSize = 32, Workers = 1, Name = name });
    }
}
