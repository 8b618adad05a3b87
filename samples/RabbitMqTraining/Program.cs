using System.CommandLine;
using System.Globalization;
using System.Text;
using StreamingLoader.RabbitMQ;
using StreamingLoader.CpuTraining;
using StreamingLoader.Batching;

namespace StreamingLoader.Samples.RabbitMqTraining;

/// <summary>The sample's settings.</summary>
/// <param name="Broker">The broker's AMQP URI.</param>
/// <param name="Role">"demo" (a producer and the trainers in this process), "produce" or "train".</param>
/// <param name="Queue">The queue the producer fills and the trainers share.</param>
/// <param name="Messages">How many samples the producer publishes.</param>
/// <param name="Trainers">How many trainers the demo runs, each with its own connection, loader and model.</param>
/// <param name="BatchSize">Samples per batch.</param>
/// <param name="IdleSeconds">A trainer stops after the queue has been empty this long.</param>
public sealed record RabbitMqTrainingOptions(
    Uri Broker, string Role = "demo", string Queue = "streamingloader-training", int Messages = 20_000, int Trainers = 2, int BatchSize = 64, double IdleSeconds = 2)
{
    internal SampleMetrics Metrics { get; init; } = SampleMetrics.Default;

    public static RabbitMqTrainingOptions Parse(string[] args)
    {
        var d = new RabbitMqTrainingOptions(new Uri("amqp://guest:guest@localhost:5672/"));
        var broker = new Option<Uri>("--broker") { Description = "The broker's AMQP URI.", DefaultValueFactory = _ => d.Broker, CustomParser = r => new Uri(r.Tokens[0].Value) };
        var role = SampleCommandLine.OneOf("--role", d.Role, "demo, produce or train.", "demo", "produce", "train");
        var queue = SampleCommandLine.Text("--queue", d.Queue, "The queue the producer fills and the trainers share.");
        var messages = SampleCommandLine.Positive("--messages", d.Messages, "Samples the producer publishes.");
        var trainers = SampleCommandLine.Positive("--trainers", d.Trainers, "Trainers the demo runs.");
        var batchSize = SampleCommandLine.Positive("--batch-size", d.BatchSize, "Samples per batch.");
        var idle = SampleCommandLine.Number("--idle", d.IdleSeconds, "Seconds of an empty queue after which a trainer stops.");
        var metrics = new SampleMetrics.Options();
        var result = SampleCommandLine.Parse(metrics.AddTo(new RootCommand("RabbitMqTraining") { broker, role, queue, messages, trainers, batchSize, idle }), args, out _);
        return new RabbitMqTrainingOptions(
            result.GetValue(broker)!, result.GetValue(role)!, result.GetValue(queue)!, result.GetValue(messages), result.GetValue(trainers), result.GetValue(batchSize), result.GetValue(idle))
        {
            Metrics = metrics.Read(result),
        };
    }
}

/// <summary>What one trainer did: the sample ids it trained on and its online accuracy at the end.</summary>
public sealed record TrainerResult(int Trainer, IReadOnlyList<long> Ids, double Accuracy, long DuplicatesDropped);

/// <summary>
/// Scale-out through a broker: a producer publishes labelled samples (8 features, 3 classes) to a RabbitMQ queue
/// with publisher confirms; several trainers consume the same queue as competing consumers, each through its own
/// loader, and each message is acknowledged only after the batch holding it has been trained on. Run the roles in
/// separate processes (or machines) with <c>--role produce</c> and <c>--role train</c>.
/// </summary>
public static class Program
{
    private const int Features = 8;

    public static async Task<int> Main(string[] args)
    {
        var options = RabbitMqTrainingOptions.Parse(args);

        // A producer alone trains nothing: it serves no metrics (and leaves the port to a trainer on the same machine).
        await using var metrics = options.Role == "produce" ? null : await options.Metrics.StartAsync("RabbitMqTraining", Console.Out);
        await RunAsync(options, Console.Out);
        return 0;
    }

    public static async Task<IReadOnlyList<TrainerResult>> RunAsync(RabbitMqTrainingOptions options, TextWriter output, CancellationToken cancellationToken = default)
    {
        if (options.Role == "produce")
        {
            await ProduceAsync(options, output, cancellationToken);
            return [];
        }

        if (options.Role == "train")
        {
            return [await TrainAsync(options, 1, output, cancellationToken)];
        }

        // The trainers connect first, so the producer's messages are shared between them from the start.
        var trainers = Enumerable.Range(1, options.Trainers).Select(t => TrainAsync(options, t, output, cancellationToken)).ToList();
        await ProduceAsync(options, output, cancellationToken);
        var results = await Task.WhenAll(trainers);
        var all = results.SelectMany(r => r.Ids).ToList();
        await output.WriteLineAsync($"{options.Trainers} trainers took {string.Join(" + ", results.Select(r => r.Ids.Count))} = {all.Count} samples; distinct: {all.Distinct().Count()} of {options.Messages} published");
        return results;
    }

    private static async Task ProduceAsync(RabbitMqTrainingOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        await using var publisher = await RabbitMqPublisher.ConnectAsync(options.Broker, options.Queue, cancellationToken);
        var random = new Random(7);
        var messages = Enumerable.Range(0, options.Messages).Select(id =>
        {
            var x = new double[Features];
            x[0] = id * 1e-6; // the sample's id, small enough not to disturb the model and exact in a float
            for (var f = 1; f < Features; f++)
            {
                x[f] = (random.NextDouble() * 2) - 1;
            }

            var y = Label(x);
            var body = $"{{\"x\":[{string.Join(',', x.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}],\"y\":{y}}}";
            return ((string?)id.ToString(CultureInfo.InvariantCulture), (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(body));
        });
        await publisher.PublishManyAsync(messages, cancellationToken);
        await output.WriteLineAsync($"producer: {options.Messages} samples published to '{options.Queue}', each confirmed by the broker");
    }

    private static async Task<TrainerResult> TrainAsync(RabbitMqTrainingOptions options, int trainer, TextWriter output, CancellationToken cancellationToken)
    {
        var sourceOptions = new RabbitMqSourceOptions
        {
            Uri = options.Broker,
            Queue = options.Queue,
            PrefetchCount = (ushort)Math.Min(ushort.MaxValue, options.BatchSize * 8),
            IdleTimeout = TimeSpan.FromSeconds(options.IdleSeconds),
        };
        await using var source = await RabbitMqSource.ConnectAsync(sourceOptions, cancellationToken);
        var model = CpuModels.SoftmaxRegression(Features, 3, learningRate: 0.5f, seed: (ulong)trainer);
        var ids = new List<long>();
        var (correct, seen) = (0L, 0L);
        var accuracy = 0.0;
        await using (var loader = Pipeline.From(source).Build(Collate.Messages(source, Collate.Json("x", Features, "y")), new LoaderOptions { BatchSize = options.BatchSize, Workers = 2, Name = $"trainer-{trainer}" }))
        {
            await foreach (var batch in loader.ReadEpochAsync(cancellationToken))
            {
                // Disposing the batch acknowledges its messages: a trainer that dies here loses nothing.
                using (batch)
                {
                    var score = model.Evaluate(batch);
                    (correct, seen) = (correct + score.Correct, seen + score.Count);
                    model.TrainStep(batch);
                    var x = batch.Features.AsSpan<float>();
                    for (var i = 0; i < batch.Count; i++)
                    {
                        ids.Add((long)Math.Round(x[i * Features] * 1e6));
                    }
                }

                if (seen >= 3200)
                {
                    accuracy = (double)correct / seen;
                    await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"trainer {trainer}: {ids.Count,6} samples, online accuracy {accuracy:F3}"));
                    (correct, seen) = (0, 0);
                }
            }
        }

        accuracy = seen > 0 ? (double)correct / seen : accuracy;
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"trainer {trainer}: done, {ids.Count} samples, the queue stayed empty for {options.IdleSeconds} s"));
        return new TrainerResult(trainer, ids, accuracy, source.DuplicatesDropped);
    }

    private static int Label(double[] x)
    {
        var a = x[1] + x[2] - x[3];
        var b = -x[1] + x[4] + (0.5 * x[5]);
        var c = x[6] - x[7] - (0.5 * x[2]);
        return a >= b && a >= c ? 0 : b >= c ? 1 : 2;
    }
}
