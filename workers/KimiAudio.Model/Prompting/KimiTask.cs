namespace KimiAudio.Model.Prompting;

/// <summary>What a request asks of the model. All tasks but <see cref="Chat"/> answer in text.</summary>
public enum KimiTask { Asr, Caption, Qa, Emotion, Chat }

/// <summary>
/// Message templates per task (there is no system prompt): an instruction as a user text message followed by the
/// user audio(s); chat is the audio alone. Instructions come from the reference README / Evalkit (spec §5.5).
/// </summary>
public static class TaskTemplates
{
    public const string AsrInstruction = "Please transcribe the following audio:";
    public const string CaptionInstruction = "Please describe the audio in detail.";
    public const string EmotionInstruction =
        "Identify the predominant emotion in this speech.\nOptions:\n(A) neutral\n(B) joy\n(C) sadness\n(D) anger\n(E) surprise\n(F) fear\n(G) disgust\n.Answer with the option's letter from the given choices directly and only give the best option.";

    /// <summary>The instruction a task uses when the request gives none; null for chat. QA has no default: its question is required.</summary>
    public static string? DefaultInstruction(KimiTask task) => task switch
    {
        KimiTask.Asr => AsrInstruction,
        KimiTask.Caption => CaptionInstruction,
        KimiTask.Emotion => EmotionInstruction,
        KimiTask.Qa => null,
        KimiTask.Chat => null,
        _ => throw new ArgumentOutOfRangeException(nameof(task), task, null),
    };

    /// <summary>Messages for <paramref name="task"/> over <paramref name="audios"/>; <paramref name="prompt"/> overrides the instruction (and is the question for QA).</summary>
    public static IReadOnlyList<KimiMessage> Messages(KimiTask task, IReadOnlyList<KimiMessage> audios, string? prompt)
    {
        if (audios.Count == 0) throw new ArgumentException($"task {task} needs at least one audio", nameof(audios));
        var instruction = prompt ?? DefaultInstruction(task);
        if (task == KimiTask.Qa && string.IsNullOrWhiteSpace(instruction))
            throw new ArgumentException("task qa needs a question", nameof(prompt));
        var messages = new List<KimiMessage>();
        if (instruction is not null) messages.Add(KimiMessage.UserText(instruction));
        messages.AddRange(audios);
        return messages;
    }

    /// <summary>Parses a task name (asr, caption, qa, emotion, chat; case-insensitive) with a clear error for anything else.</summary>
    public static KimiTask Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "asr" => KimiTask.Asr,
        "caption" => KimiTask.Caption,
        "qa" => KimiTask.Qa,
        "emotion" => KimiTask.Emotion,
        "chat" => KimiTask.Chat,
        _ => throw new ArgumentException($"unknown task '{name}': expected asr, caption, qa, emotion or chat", nameof(name)),
    };

    /// <summary>The output type a task uses by default: chat answers in speech (both streams), every other task in text.</summary>
    public static KimiOutputType DefaultOutput(KimiTask task) => task == KimiTask.Chat ? KimiOutputType.Both : KimiOutputType.Text;
}
