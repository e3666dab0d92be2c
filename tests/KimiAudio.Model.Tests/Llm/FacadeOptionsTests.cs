using KimiAudio.Model.Prompting;

namespace KimiAudio.Model.Tests.Llm;

public class FacadeOptionsTests
{
    [Fact]
    public void Options_are_checked_before_anything_loads()
    {
        Assert.Throws<DirectoryNotFoundException>(() => KimiAudioModel.Load(new KimiAudioModelOptions { ModelFolder = "/nonexistent/kimi" }));
        var ex = Assert.Throws<ArgumentException>(() => new KimiAudioModelOptions { ModelFolder = TestData.TinyA, DType = "float16" }.Validate());
        Assert.Contains("float16", ex.Message);
        Assert.Throws<ArgumentException>(() => new KimiAudioModelOptions { ModelFolder = TestData.TinyA, MaxBatchSize = 0 }.Validate());
        var o = new KimiAudioModelOptions { ModelFolder = "/m" };
        Assert.Equal(Path.Combine("/m", "whisper-large-v3"), o.ResolvedWhisperFolder);
    }

    [Fact]
    public void Task_names_parse_and_unknown_ones_are_named_in_the_error()
    {
        Assert.Equal(KimiTask.Emotion, TaskTemplates.Parse(" Emotion "));
        Assert.Equal(KimiTask.Qa, TaskTemplates.Parse("qa"));
        var ex = Assert.Throws<ArgumentException>(() => TaskTemplates.Parse("translate"));
        Assert.Contains("translate", ex.Message);
    }

    [Fact]
    public void Missing_glm_tokenizer_folder_is_a_clear_error_when_whisper_exists()
    {
        using var temp = new TempDir("no-glm-");
        var dir = temp.Path;
        foreach (var f in Directory.GetFiles(TestData.TinyA)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        Directory.CreateDirectory(Path.Combine(dir, "whisper-large-v3"));
        var ex = Assert.Throws<DirectoryNotFoundException>(() => KimiAudioModel.Load(new KimiAudioModelOptions { ModelFolder = dir, DType = "float32" }));
        Assert.Contains("glm-4-voice-tokenizer", ex.Message);
    }
}
