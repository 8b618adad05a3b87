namespace StreamingLoader.Telemetry;

/// <summary>
/// What limits a pipeline's consumer, as <see cref="BottleneckVerdict.Decide"/> finds it. The numbers are the codes the
/// dashboard's verdict panel shows, from the same rule in PromQL.
/// </summary>
public enum BottleneckKind
{
    /// <summary>Nothing measured yet: the consumer has not read.</summary>
    None = 0,

    /// <summary>The process is short of CPU (or of threads): every part of it waits for a CPU, so no stage's figures can be trusted to point elsewhere.</summary>
    Cpu = 1,

    /// <summary>The consumer (the training step) is the limit: the loader keeps up.</summary>
    Consumer = 2,

    /// <summary>One stage's workers are busy nearly all the time while the consumer waits (<see cref="BottleneckVerdict.Stage"/>).</summary>
    Stage = 3,

    /// <summary>The source reads slower than the consumer takes: the stages are idle and the source is rarely blocked.</summary>
    Source = 4,

    /// <summary>The consumer waits, yet neither CPU, a stage nor the source is saturated: latency, not throughput.</summary>
    Unclear = 5,
}
