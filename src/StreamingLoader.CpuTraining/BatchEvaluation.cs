namespace StreamingLoader.CpuTraining;

/// <summary>The loss and accuracy counts of one batch, which add up over an evaluation.</summary>
/// <param name="LossSum">The sum of the samples' losses (mean loss × <paramref name="Count"/>).</param>
/// <param name="Correct">How many samples the classifier got right; 0 for a regression.</param>
/// <param name="Count">How many samples were evaluated.</param>
public readonly record struct BatchEvaluation(double LossSum, int Correct, int Count);
