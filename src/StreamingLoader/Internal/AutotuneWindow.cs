namespace StreamingLoader.Internal;

/// <summary>
/// One window's measurements for the <see cref="Autotuner"/>: samples/s, the consumer's share of time waiting, the
/// workers' share busy, per sample the work and the consumer's step, and the standard error of samples/s from the
/// spread of its ticks, and the standard error of the wait share likewise.
/// </summary>
internal readonly record struct AutotuneWindow(double Seconds, long Batches, double Rate, double Wait, double Busy, double WorkPerSample, double StepPerSample, double RateError, double WaitError);
