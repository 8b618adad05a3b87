using StreamingLoader.Internal;

namespace StreamingLoader.Tests;

public class EpochLedgerTests
{
    [Fact]
    public async Task WaitUntilMade_ConsumerFinishedTheEpochFirst_ReturnsAtOnce()
    {
        // Unordered: the source sent 2 chunks and the end marker; workers made them and the consumer received all of
        // them before the source's thread got to wait. The tally must still be there for the source.
        var ledger = new EpochLedger(sourceWaits: true);
        ledger.RecordMade(new Delivery(null, 0, DeliveryKind.Batch));
        ledger.RecordMade(new Delivery(null, 0, DeliveryKind.Empty));
        ledger.RecordMade(new Delivery(null, 0, DeliveryKind.EpochEnd, Chunks: 2));
        ledger.RecordReceived(new Delivery(null, 0, DeliveryKind.Batch));
        ledger.RecordReceived(new Delivery(null, 0, DeliveryKind.Empty));
        ledger.RecordReceived(new Delivery(null, 0, DeliveryKind.EpochEnd, Chunks: 2));
        Assert.True(ledger.IsReceived(0));

        await ledger.WaitUntilMadeAsync(0, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(ledger.IsReceived(0));
    }

    [Fact]
    public async Task WaitUntilMade_ChunksMadeLater_WakesWhenTheLastIsMade()
    {
        var ledger = new EpochLedger(sourceWaits: true);
        ledger.RecordMade(new Delivery(null, 3, DeliveryKind.EpochEnd, Chunks: 2));
        var waiting = ledger.WaitUntilMadeAsync(3, CancellationToken.None).AsTask();
        ledger.RecordMade(new Delivery(null, 3, DeliveryKind.Batch));
        Assert.False(waiting.IsCompleted);
        ledger.RecordMade(new Delivery(null, 3, DeliveryKind.Batch));
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
