namespace KimiAudio.Vad.Tests;

public class VoiceActivityTests
{
    private const int F = SileroVad.FrameSamples;
    private static readonly SpeechThresholds Defaults = SpeechThresholds.Default;
    private static readonly int Pad = (int)(Defaults.SpeechPadSeconds * SileroVad.SampleRate);

    private static float[] Frames(int count, params (int From, int To, float P)[] runs)
    {
        var p = new float[count];
        foreach (var (from, to, value) in runs) p.AsSpan(from, to - from).Fill(value);
        return p;
    }

    [Fact]
    public void No_speech_is_one_pause_over_the_whole_recording()
    {
        Assert.Equal([new Pause(0, 100 * F)], VoiceActivity.Pauses(Frames(100), 100 * F, Defaults));
        Assert.Equal([new Pause(0, 10)], VoiceActivity.Pauses(Frames(1), 10, Defaults));
    }

    [Fact]
    public void Speech_splits_the_recording_into_pauses_shrunk_by_the_pad_next_to_speech()
    {
        var pauses = VoiceActivity.Pauses(Frames(100, (10, 50, 0.9f)), 100 * F, Defaults);
        Assert.Equal([new Pause(0, 10 * F - Pad), new Pause(50 * F + Pad, 100 * F)], pauses);
    }

    [Fact]
    public void A_dip_shorter_than_the_minimum_pause_stays_speech_and_a_longer_one_is_a_pause()
    {
        // 100 ms = 3.125 frames → 4 frames are needed
        Assert.Equal(2, VoiceActivity.Pauses(Frames(100, (10, 30, 0.9f), (33, 60, 0.9f)), 100 * F, Defaults).Count);
        var pauses = VoiceActivity.Pauses(Frames(100, (10, 30, 0.9f), (34, 60, 0.9f)), 100 * F, Defaults);
        Assert.Equal(3, pauses.Count);
        Assert.Equal(new Pause(30 * F + Pad, 34 * F - Pad), pauses[1]);
    }

    [Fact]
    public void Probabilities_between_the_end_and_start_thresholds_keep_speech_going_but_do_not_start_it()
    {
        Assert.Single(VoiceActivity.Pauses(Frames(100, (10, 50, 0.4f)), 100 * F, Defaults)); // never started
        var pauses = VoiceActivity.Pauses(Frames(100, (10, 20, 0.9f), (20, 60, 0.4f)), 100 * F, Defaults);
        Assert.Equal(new Pause(60 * F + Pad, 100 * F), pauses[^1]);
    }

    [Fact]
    public void A_burst_shorter_than_the_minimum_speech_is_not_speech()
    {
        Assert.Single(VoiceActivity.Pauses(Frames(100, (40, 46, 0.9f)), 100 * F, Defaults)); // 192 ms < 250 ms
        Assert.Equal(2, VoiceActivity.Pauses(Frames(100, (40, 48, 0.9f)), 100 * F, Defaults).Count); // 256 ms
    }

    [Fact]
    public void Speech_up_to_the_end_leaves_no_trailing_pause_and_a_partial_last_frame_is_clamped()
    {
        var pauses = VoiceActivity.Pauses(Frames(20, (2, 20, 0.9f)), 19 * F + 100, Defaults);
        Assert.Equal([new Pause(0, 2 * F - Pad)], pauses);
    }
}
