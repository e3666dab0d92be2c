using static TorchSharp.torch;

namespace KimiAudio.Model.Tests;

/// <summary><see cref="NativeThreads.Prepare"/> keeps an operator's setting and says so when it comes too late to matter.</summary>
[Collection("Torch")]
public class NativeThreadsTests
{
    [Fact]
    public void After_libtorch_has_loaded_it_changes_nothing_and_says_so()
    {
        using (var t = ones(4)) Assert.Equal(4f, t.sum().item<float>()); // libtorch (and its OpenMP) loaded
        if (Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") is not null || Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not null)
        {
            Assert.Contains("operator's", NativeThreads.Prepare());
            return;
        }
        Assert.StartsWith("OpenMP already loaded", NativeThreads.Prepare());
        Assert.Null(Environment.GetEnvironmentVariable("GOMP_SPINCOUNT"));
    }

    [Fact]
    public void An_operators_spin_count_is_kept()
    {
        var before = Environment.GetEnvironmentVariable("GOMP_SPINCOUNT");
        try
        {
            Environment.SetEnvironmentVariable("GOMP_SPINCOUNT", "12345");
            Assert.Equal("GOMP_SPINCOUNT=12345 (operator's)", NativeThreads.Prepare());
            Assert.Equal("12345", Environment.GetEnvironmentVariable("GOMP_SPINCOUNT"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("GOMP_SPINCOUNT", before);
        }
    }
}
