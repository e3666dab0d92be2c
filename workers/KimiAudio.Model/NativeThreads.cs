using System.Runtime.InteropServices;

namespace KimiAudio.Model;

/// <summary>
/// How long libtorch's OpenMP threads spin after a parallel region, set before libtorch loads. Hosts call
/// <see cref="Prepare"/> as their first statement, before any <c>torch</c> call.
/// </summary>
/// <remarks>
/// libtorch's CPU build runs its parallel ops on GNU OpenMP, whose idle threads spin for <c>GOMP_SPINCOUNT</c> (300,000
/// pauses by default: milliseconds on this AMD EPYC) before they sleep. The CPU decode kernels (<see cref="Llm.DecodeLinear"/>)
/// run their shares on .NET threads; after each parallel libtorch op (a head's bf16 rounding, the sampler's top-k over
/// 168,448 ids) a spinning OpenMP thread held one of the two cores they wanted. Measured (`bench/KimiAudio.Bench.Model
/// --quick --configs mid-real-vocab`, two interleaved pairs of runs): batch-1 decode steps 107–111 → 82–86 ms in
/// float32 and 59–71 → 53 ms in bfloat16 with a count of 3,000, batch-16 steps and prefill within the box's noise; the
/// throughput bench's engine RTFx 15.3 → 16.3 (static) and 19.0 → 20.2 (continuous). A count of 30,000 kept most of the
/// loss; passive waiting (no spin) cost batch-16 steps a quarter. An operator's own <c>GOMP_SPINCOUNT</c> or
/// <c>OMP_WAIT_POLICY</c> is left as it is.
/// </remarks>
public static partial class NativeThreads
{
    public const string SpinCount = "3000";

    /// <summary>Sets <c>GOMP_SPINCOUNT</c> in the process environment unless the operator set it (or a wait policy); says what it did.</summary>
    public static string Prepare()
    {
        if (!OperatingSystem.IsLinux()) return "OpenMP spin left as is (not Linux)";
        if (Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") is { } own) return $"GOMP_SPINCOUNT={own} (operator's)";
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is { } policy) return $"OMP_WAIT_POLICY={policy} (operator's)";
        if (OpenMpLoaded()) return "OpenMP already loaded: GOMP_SPINCOUNT left at its default (call NativeThreads.Prepare before any torch call)";
        // the native environment, which libgomp reads when it loads (Environment.SetEnvironmentVariable does not reach it)
        if (setenv("GOMP_SPINCOUNT", SpinCount, 0) != 0) return "GOMP_SPINCOUNT could not be set";
        Environment.SetEnvironmentVariable("GOMP_SPINCOUNT", SpinCount);
        return $"GOMP_SPINCOUNT={SpinCount}";
    }

    private static bool OpenMpLoaded()
    {
        try
        {
            return File.ReadLines("/proc/self/maps").Any(l => l.Contains("libgomp", StringComparison.Ordinal));
        }
        catch (IOException)
        {
            return false;
        }
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);
}
