using StreamingLoader.Images.Geometry;

namespace StreamingLoader.Images.Tests;

public class TransformTests(TorchvisionReference reference) : IClassFixture<TorchvisionReference>
{
    [Fact]
    public void RandomHorizontalFlip_ManySamples_FlipsWithProbabilityP()
    {
        var flip = (HorizontalFlipTransform)ImageTransform.RandomHorizontalFlip(0.3);
        const int N = 20_000;
        var flipped = 0;
        for (var i = 0; i < N; i++)
        {
            var plan = GeometryPlan.Identity(10, 10);
            var random = new CounterRandom(7, 0, i);
            flip.Apply(ref plan, random);
            flipped += plan.Flip ? 1 : 0;
        }

        // Binomial(20,000, 0.3): 4 standard deviations are ±259.
        Assert.InRange(flipped, 6000 - 260, 6000 + 260);
    }

    [Fact]
    public void Process_FlipAlways_GivesTheMirrorImageOfNoFlip()
    {
        var path = Path.Combine(reference.Folder, "cat", "a.jpg");
        var (height, width) = (100, 120);
        float[] Run(double p)
        {
            var processor = ImageProcessor.Create(ImageTransform.Compose(ImageTransform.Resize(height, width), ImageTransform.RandomHorizontalFlip(p), ImageTransform.ToTensor()), new ImageFolderOptions());
            var output = new float[3 * height * width];
            processor.Process(path, default, output, height, width);
            return output;
        }

        var plain = Run(0);
        var mirrored = Run(1);

        for (var c = 0; c < 3; c++)
        {
            for (var y = 0; y < height; y++)
            {
                for (var x = 0; x < width; x++)
                {
                    var a = plain[(((c * height) + y) * width) + x];
                    var b = mirrored[(((c * height) + y) * width) + (width - 1 - x)];
                    Assert.True(Math.Abs(a - b) < 1e-5f, $"channel {c}, row {y}, column {x}: {a} vs mirrored {b}");
                }
            }
        }
    }

    [Theory]
    [InlineData(300, 250, 256, 307, 256)]
    [InlineData(250, 300, 256, 256, 307)]
    [InlineData(100, 100, 64, 64, 64)]
    public void Resize_ShorterSide_KeepsTheAspectRatioAsTorchvisionTruncates(int width, int height, int size, int expectedWidth, int expectedHeight)
    {
        var plan = GeometryPlan.Identity(width, height);
        var random = new CounterRandom(0, 0, 0);

        ((GeometricTransform)ImageTransform.Resize(size)).Apply(ref plan, random);

        Assert.Equal((expectedWidth, expectedHeight), (plan.Width, plan.Height));
    }

    [Fact]
    public void CenterCrop_LargerThanImage_PadsBothSidesAsTorchvision()
    {
        var plan = GeometryPlan.Identity(180, 150);
        var random = new CounterRandom(0, 0, 0);

        ((GeometricTransform)ImageTransform.CenterCrop(224)).Apply(ref plan, random);

        // torchvision pads (224 − 180) // 2 = 22 on the left and (224 − 150) // 2 = 37 on top.
        Assert.Equal((-22, -37, 224, 224), (plan.WindowX, plan.WindowY, plan.Width, plan.Height));
        Assert.False(plan.IsInside);
    }
}
