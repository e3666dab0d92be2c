using KimiAudio.Audio;
using KimiAudio.Contracts;

namespace KimiAudio.Worker.Jobs;

/// <summary>A message's region of its input (a manifest's offset + duration) as the decoder takes it.</summary>
public static class InputRegion
{
    public static AudioRegion? ToAudioRegion(this MediaRegion? region) => region is null ? null : new AudioRegion(region.OffsetSeconds, region.DurationSeconds);
}
