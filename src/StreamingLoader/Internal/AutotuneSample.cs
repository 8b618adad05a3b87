using System.Runtime.InteropServices;

namespace StreamingLoader.Internal;

/// <summary>
/// What the autotuner reads at each tick: running totals since the loader started (it takes differences between
/// ticks itself) and a few values as they are now.
/// </summary>
/// <param name="Samples">Samples delivered to the consumer.</param>
/// <param name="Batches">Batches delivered to the consumer.</param>
/// <param name="WaitSeconds">Time the consumer waited for its next batch.</param>
/// <param name="StepSeconds">Time the consumer spent on its batches.</param>
/// <param name="BusySeconds">Time the workers of the busiest parallel block spent working, summed over workers.</param>
/// <param name="HeldByConsumer">Batches the consumer holds now (not yet disposed).</param>
/// <param name="BufferBytes">Bytes of the largest batch buffer so far (0 before the first): what one more buffer may cost.</param>
/// <param name="AllocatedBytes">Bytes of every batch buffer allocated now.</param>
[StructLayout(LayoutKind.Auto)]
internal readonly record struct AutotuneSample(
    long Samples,
    long Batches,
    double WaitSeconds,
    double StepSeconds,
    double BusySeconds,
    int HeldByConsumer = 0,
    long BufferBytes = 0,
    long AllocatedBytes = 0);
