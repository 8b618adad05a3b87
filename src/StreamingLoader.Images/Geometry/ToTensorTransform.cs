namespace StreamingLoader.Images.Geometry;

/// <summary>torchvision's <c>ToTensor</c>: marks where pixels become Float32 CHW in [0, 1].</summary>
internal sealed class ToTensorTransform : ImageTransform
{
    public static readonly ToTensorTransform Instance = new();

    private ToTensorTransform()
    {
    }

    public override string ToString() => "ToTensor()";
}
