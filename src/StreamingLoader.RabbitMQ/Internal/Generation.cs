using RabbitMQ.Client;

namespace StreamingLoader.RabbitMQ.Internal;

/// <summary>
/// One connection's channels. Delivery tags count from 1 on each channel, so a tag means something only with its
/// generation; once the connection is lost its unacknowledged messages go back to the queue and its tags are void.
/// </summary>
internal sealed class Generation(IChannel channel, IChannel deadLetterChannel)
{
    private readonly SortedSet<ulong> _settledAbove = [];
    private volatile bool _alive = true;

    public IChannel Channel => channel;

    public IChannel DeadLetterChannel => deadLetterChannel;

    public bool Alive => _alive;

    /// <summary>Gets the highest tag below which every tag is settled (acker thread only).</summary>
    public ulong Watermark { get; private set; }

    /// <summary>
    /// Gets the highest tag of the settled run that still waits for a <c>multiple</c> acknowledgement: a consumed
    /// message not acknowledged on its own. Acknowledging up to it never names a tag already acknowledged or requeued,
    /// which the broker would refuse by closing the channel (acker thread only).
    /// </summary>
    public ulong LastPending { get; private set; }

    /// <summary>Gets the tag last acknowledged with <c>multiple</c> (acker thread only).</summary>
    public ulong Acknowledged { get; set; }

    public void End() => _alive = false;

    /// <summary>
    /// Marks <paramref name="tag"/> settled; true when it joined the settled run from tag 1 (a later multiple
    /// acknowledgement covers it), false when a gap remains below it.
    /// </summary>
    public bool Settle(ulong tag, bool pendingAcknowledgement)
    {
        if (tag != Watermark + 1)
        {
            _settledAbove.Add(tag);
            return false;
        }

        Watermark = tag;
        if (pendingAcknowledgement)
        {
            LastPending = tag;
        }

        while (_settledAbove.Remove(Watermark + 1))
        {
            Watermark++;
        }

        return true;
    }
}
