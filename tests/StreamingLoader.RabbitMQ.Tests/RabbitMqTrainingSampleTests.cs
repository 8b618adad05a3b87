using StreamingLoader.Samples.RabbitMqTraining;
using RabbitMqTrainingSample = StreamingLoader.Samples.RabbitMqTraining.Program;

namespace StreamingLoader.RabbitMQ.Tests;

[Collection(BrokerTests.Name)]
public sealed class RabbitMqTrainingSampleTests(RabbitMqBroker broker)
{
    [Fact]
    public async Task RabbitMqTraining_ProducerAndTwoTrainers_ShareEverySampleOnceAndLearn()
    {
        var options = new RabbitMqTrainingOptions(broker.Uri, Queue: "sample-" + Guid.NewGuid().ToString("N")[..8], Messages: 12_000, IdleSeconds: 2);
        var output = new StringWriter();

        var results = await RabbitMqTrainingSample.RunAsync(options, output);

        Assert.Equal(2, results.Count);
        Assert.All(results, r => Assert.NotEmpty(r.Ids));
        Assert.Equal(Enumerable.Range(0, 12_000).Select(i => (long)i), results.SelectMany(r => r.Ids).Order());
        Assert.All(results, r => Assert.True(r.Accuracy > 0.85, output.ToString()));
        Assert.Contains("distinct: 12000 of 12000 published", output.ToString());
    }
}
