using StreamingLoader.Shards;

namespace StreamingLoader.Shards.Tests;

public class WorldTests
{
    [Fact]
    public void FromVariables_TorchrunSet_ReadsAllFour()
    {
        var variables = new Dictionary<string, string> { ["RANK"] = "3", ["WORLD_SIZE"] = "8", ["LOCAL_RANK"] = "1", ["LOCAL_WORLD_SIZE"] = "2" };
        Assert.Equal(new World(3, 8, 1, 2), World.FromVariables(variables.GetValueOrDefault));
    }

    [Fact]
    public void FromVariables_NoneSet_Single()
    {
        Assert.Equal(World.Single, World.FromVariables(_ => null));
    }

    [Theory]
    [InlineData("RANK", "x")]
    [InlineData("WORLD_SIZE", "-1")]
    public void FromVariables_Malformed_ErrorNamesTheVariable(string name, string value)
    {
        var variables = new Dictionary<string, string> { ["RANK"] = "0", ["WORLD_SIZE"] = "2", [name] = value };
        Assert.Contains(name, Assert.Throws<InvalidOperationException>(() => World.FromVariables(variables.GetValueOrDefault)).Message);
    }

    [Fact]
    public void FromVariables_RankOutsideWorld_Error()
    {
        var variables = new Dictionary<string, string> { ["RANK"] = "4", ["WORLD_SIZE"] = "4" };
        Assert.Contains("RANK=4", Assert.Throws<InvalidOperationException>(() => World.FromVariables(variables.GetValueOrDefault)).Message);
        Assert.Throws<InvalidOperationException>(() => World.FromVariables(new Dictionary<string, string> { ["RANK"] = "0" }.GetValueOrDefault));
    }
}
