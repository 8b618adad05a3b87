namespace StreamingLoader.RabbitMQ.Tests;

/// <summary>The broker as the tests' collection fixture: started once, stopped after the last test.</summary>
public sealed partial class RabbitMqBroker : IAsyncLifetime
{
    public Task InitializeAsync() => StartAsync();
}

[CollectionDefinition(Name)]
public sealed class BrokerTests : ICollectionFixture<RabbitMqBroker>
{
    public const string Name = "RabbitMQ broker";
}
