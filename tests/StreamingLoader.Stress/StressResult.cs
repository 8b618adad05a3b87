namespace StreamingLoader.Stress;

/// <summary>What <see cref="StressRunner.RepeatAsync"/> counted; <paramref name="FirstError"/> is the first hang's or wrong outcome's error.</summary>
internal sealed record StressResult(int Ran, int Hung, int Failed, Exception? FirstError);
