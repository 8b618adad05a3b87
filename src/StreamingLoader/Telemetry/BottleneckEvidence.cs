namespace StreamingLoader.Telemetry;

/// <summary>
/// What a <see cref="BottleneckVerdict"/> is decided from: rates over one window (a whole run for
/// <see cref="PipelineProfiler"/>, a rate interval for the dashboard), each from the metrics Prometheus scrapes.
/// </summary>
public sealed record BottleneckEvidence
{
    /// <summary>Gets the share of the consumer's time spent waiting for its next batch, 0 to 1 (<c>consumer.wait</c> ÷ (<c>wait</c> + <c>step</c>)).</summary>
    public double ConsumerWaitShare { get; init; }

    /// <summary>
    /// Gets the share of the consumer's time spent waiting after its batch was ready, 0 to 1 (<c>consumer.dispatch</c>
    /// ÷ (<c>wait</c> + <c>step</c>)): its continuation waited for a thread, not for data. Part of <see cref="ConsumerWaitShare"/>.
    /// </summary>
    public double ConsumerDispatchShare { get; init; }

    /// <summary>Gets the consumer's wait and step time per second of the window; 0 when the consumer did not read.</summary>
    public double ConsumerSecondsPerSecond { get; init; }

    /// <summary>Gets the cores the process may use (<c>process.cpu.limit</c>).</summary>
    public double CoresAvailable { get; init; }

    /// <summary>Gets the CPU the process used, in cores (CPU seconds per second).</summary>
    public double CoresUsed { get; init; }

    /// <summary>Gets how many of the process's threads waited for a CPU on average (run-queue seconds per second; 0 where unknown).</summary>
    public double ThreadsWaitingForCpu { get; init; }

    /// <summary>Gets the average number of work items queued in the thread pool.</summary>
    public double ThreadPoolQueue { get; init; }

    /// <summary>Gets each stage's utilisation, 0 to 1: busy seconds per second ÷ its workers (the source and prefetch do no timed work and are left out).</summary>
    public IReadOnlyDictionary<PipelineStage, double> StageUtilisation { get; init; } = new Dictionary<PipelineStage, double>();

    /// <summary>Gets the share of the window the source was blocked, waiting for a batch buffer or for room downstream.</summary>
    public double SourceBlockedShare { get; init; }

    /// <summary>Gets <see cref="CoresUsed"/> ÷ <see cref="CoresAvailable"/>.</summary>
    public double CpuUse => CoresAvailable > 0 ? CoresUsed / CoresAvailable : 0;

    /// <summary>Gets <see cref="ThreadsWaitingForCpu"/> ÷ <see cref="CoresAvailable"/>: threads queued for a CPU per core.</summary>
    public double CpuWait => CoresAvailable > 0 ? ThreadsWaitingForCpu / CoresAvailable : 0;
}
