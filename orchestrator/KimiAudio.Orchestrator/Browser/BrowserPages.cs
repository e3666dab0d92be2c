using System.Globalization;
using KimiAudio.Contracts;
using KimiAudio.Orchestrator.Auth;
using KimiAudio.Orchestrator.Batches;

namespace KimiAudio.Orchestrator.Browser;

/// <summary>The results browser's pages as HTML text. Every value from the database goes through <see cref="Html"/>'s encoding.</summary>
public static class BrowserPages
{
    private const string Style = """
        body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2733;background:#fff}
        header{display:flex;align-items:center;gap:1em;padding:.6em 1.2em;background:#1f3b57;color:#fff}
        header a{color:#fff;font-weight:600;text-decoration:none}header form{margin-left:auto}
        main{padding:1em 1.2em;max-width:1400px}h1{font-size:1.3em;margin:.2em 0 .6em}h2{font-size:1.1em;margin:1.2em 0 .4em}
        table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #dde3ea;padding:.35em .5em;text-align:left;vertical-align:top}
        th{background:#f1f4f7;font-weight:600}td.num{text-align:right;white-space:nowrap}code,.key{font-family:ui-monospace,monospace;word-break:break-all}
        dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}dt{color:#5b6b7b}dd{margin:0}
        .bar{display:flex;width:220px;height:12px;background:#e6ebf0;border-radius:3px;overflow:hidden}.bar span{display:block;height:100%}
        .s-succeeded{background:#3d9a57}.s-failed{background:#c94040}.s-skipped{background:#8fa3b5}.s-cancelled{background:#b58f3d}
        .s-running{background:#3b7fc4}.s-queued{background:#9cc3e6}.s-pending{background:#d5dde5}
        .state{display:inline-block;padding:0 .45em;border-radius:3px;color:#fff;font-size:.9em}.s-queued,.s-pending{color:#1d2733}
        .error{color:#a32727}pre{white-space:pre-wrap;word-break:break-word;background:#f6f8fa;padding:.6em;border-radius:4px;margin:0}
        .pager{margin:.8em 0;display:flex;gap:1.2em}.filters a{margin-right:.8em}
        audio{display:block;width:100%;max-width:800px;margin:.3em 0}img.waveform{display:block;width:100%;max-width:800px;height:100px}
        form.login{display:flex;flex-direction:column;gap:.6em;max-width:420px}input[type=password]{padding:.4em;font:inherit}
        button{font:inherit;padding:.3em .9em;cursor:pointer}.muted{color:#6a7a8a}
        tr.segment[aria-current]{background:#fff6d6}
        """;

    /// <summary>
    /// Where a form's anti-forgery field goes; <see cref="HtmlPage"/> fills it in for the request when the page is written.
    /// Text from the database is encoded, so it can never contain this ('&lt;' becomes '&amp;lt;').
    /// </summary>
    public const string FormTokenSlot = "<!--antiforgery-token-->";

    public static string Layout(string title, Html body, bool signedIn = true)
    {
        var h = new Html();
        h.Add($"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
            <title>{title} · Kimi-Audio results</title><style>{new RawHtml(Style)}</style></head>
            <body><header><a href="{BrowserSession.PathPrefix}">Kimi-Audio results</a>
            """);
        if (signedIn) h.Add($"""<form method="post" action="{BrowserEndpoints.LogoutPath}">{new RawHtml(FormTokenSlot)}<button type="submit">Log out</button></form>""");
        h.Add($"</header><main>{new RawHtml(body.ToString())}</main></body></html>");
        return h.ToString();
    }

    public static string Login(string? returnUrl, string? error)
    {
        var body = new Html();
        body.Add($"""
            <h1>Sign in</h1>
            <p class="muted">Enter an API key (create one with <code>kimia keys create &lt;name&gt;</code>). It is kept in an encrypted
            session cookie for {BrowserSession.Lifetime.TotalHours} hours and checked on every page; revoking the key ends the session.</p>
            """);
        if (error is not null) body.Add($"""<p class="error" id="login-error" role="alert">{error}</p>""");
        body.Add($"""
            <form class="login" method="post" action="{BrowserSession.LoginPath}">{new RawHtml(FormTokenSlot)}
            <label for="key">API key</label>
            <input type="password" id="key" name="key" autocomplete="off" required autofocus>
            <input type="hidden" name="returnUrl" value="{BrowserSession.SafeReturnUrl(returnUrl)}">
            <button type="submit" id="login">Sign in</button>
            </form>
            """);
        return Layout("Sign in", body, signedIn: false);
    }

    public static string BadForm(string what)
    {
        var body = new Html();
        body.Add($"""<h1>Bad request</h1><p class="error" id="bad-form">{what}</p><p><a href="{BrowserSession.PathPrefix}">All batches</a></p>""");
        return Layout("Bad request", body);
    }

    public static string NotFound(string what)
    {
        var body = new Html();
        body.Add($"""<h1>Not found</h1><p class="error" id="not-found">{what}</p><p><a href="{BrowserSession.PathPrefix}">All batches</a></p>""");
        return Layout("Not found", body);
    }

    public static string Batches(IReadOnlyList<BatchProgress> batches, int page, int pageSize)
    {
        var h = new Html();
        h.Add($"<h1>Batches</h1>");
        if (batches.Count == 0 && page == 0) h.Add($"""<p class="muted">No batch has been submitted yet.</p>""");
        h.Add($"""
            <table id="batches"><thead><tr><th>Created</th><th>Batch</th><th>Source</th><th>Task</th><th>State</th>
            <th>Progress</th><th>Jobs by state</th><th>ETA</th></tr></thead><tbody>
            """);
        foreach (var b in batches)
        {
            h.Add($"""
                <tr data-batch="{b.BatchId}"><td>{When(b.CreatedAt)}</td><td><a class="key" href="{BatchUrl(b.BatchId)}">{b.BatchId}</a></td>
                <td class="key">{b.Source}</td><td>{b.Task} → {b.OutputType}</td><td>{b.State}</td>
                <td>{new RawHtml(ProgressBar(b))}<span class="progress-text">{b.Finished} / {b.TotalJobs} finished</span></td>
                <td>{CountsText(b)}</td><td>{Eta(b)}</td></tr>
                """);
        }
        h.Add($"</tbody></table>");
        h.Add($"""<div class="pager">""");
        if (page > 0) h.Add($"""<a href="{BrowserSession.PathPrefix}?page={page - 1}">← Newer</a>""");
        if (batches.Count == pageSize) h.Add($"""<a href="{BrowserSession.PathPrefix}?page={page + 1}">Older →</a>""");
        h.Add($"</div>");
        return Layout("Batches", h);
    }

    public static string Batch(BatchProgress b, IReadOnlyList<JobListItem> jobs, string? state, int after, int pageSize)
    {
        var h = new Html();
        h.Add($"""
            <h1>Batch <span class="key">{b.BatchId}</span></h1>
            <dl id="batch-summary">
            <dt>Source</dt><dd class="key">{b.Source}</dd>
            <dt>Task</dt><dd>{b.Task} → {b.OutputType} (priority {b.Priority})</dd>
            <dt>State</dt><dd id="batch-state">{b.State}</dd>
            <dt>Progress</dt><dd>{new RawHtml(ProgressBar(b))}<span id="batch-progress">{b.Finished} / {b.TotalJobs} finished</span>
              ({b.SkippedJobs} skipped as already annotated)</dd>
            <dt>Jobs by state</dt><dd id="batch-counts">{CountsText(b)}</dd>
            <dt>Created</dt><dd>{When(b.CreatedAt)}</dd>
            <dt>Completed</dt><dd>{When(b.CompletedAt)}</dd>
            <dt>Audio done</dt><dd>{b.AudioSecondsDone:0.#} s ({b.AudioSecondsPerSecond:0.##} s of audio per second)</dd>
            <dt>ETA</dt><dd>{Eta(b)}</dd>
            """);
        if (b.Quality is { } q)
            h.Add($"""
                <dt>Quality</dt><dd id="batch-quality">WER {Percent(q.Wer)} (S {q.Substitutions}, D {q.Deletions}, I {q.Insertions} over {q.ReferenceWords} reference words),
                  CER {Percent(q.Cer)}; {q.ScoredResults} scored result(s), worst WER {Percent(q.MaxWer)}</dd>
                """);
        h.Add($"""
            </dl>
            <h2>Jobs</h2>
            <p class="filters">Show: <a href="{BatchUrl(b.BatchId)}">all</a>
            """);
        foreach (var s in PipelineState.Job.All.Where(s => b.Counts.GetValueOrDefault(s) > 0))
            h.Add($"""<a href="{BatchUrl(b.BatchId)}?state={s}">{s} ({b.Counts[s]})</a>""");
        h.Add($"""
            </p>
            <table id="jobs"><thead><tr><th>#</th><th>Input</th><th>State</th><th>Attempts</th><th>Audio</th><th>WER</th><th>Error</th><th>Result text</th></tr></thead><tbody>
            """);
        foreach (var (j, r) in jobs)
        {
            var text = r.Text is null ? "" : r.Text.Length >= BrowserRepository.ListTextChars ? r.Text + " …" : r.Text;
            h.Add($"""
                <tr data-job="{j.JobId}" data-state="{j.State}"><td class="num">{j.Seq}</td>
                <td><a class="key" href="{JobUrl(j.JobId)}">{j.InputKey}</a></td>
                <td>{new RawHtml(StateChip(j.State))}</td><td class="num">{j.Attempts}</td><td class="num">{Seconds(j.AudioSeconds)}</td>
                <td class="num wer">{(r.Wer is { } wer ? Percent(wer) : "")}</td><td class="error">{j.Error}</td><td class="text">{text}{new RawHtml(r.HasSpeech ? " <span class=\"muted\">+ speech</span>" : "")}</td></tr>
                """);
        }
        h.Add($"</tbody></table>");
        if (jobs.Count == 0) h.Add($"""<p class="muted">No jobs{(state is null ? "" : $" in state {state}")} here.</p>""");
        var filter = state is null ? "" : $"&state={Uri.EscapeDataString(state)}";
        h.Add($"""<div class="pager">""");
        if (after > 0) h.Add($"""<a href="{BatchUrl(b.BatchId)}?{filter.TrimStart('&')}">First page</a>""");
        if (jobs.Count == pageSize) h.Add($"""<a id="next-page" href="{BatchUrl(b.BatchId)}?after={jobs[^1].Job.Seq}{filter}">Next page →</a>""");
        h.Add($"</div>");
        return Layout($"Batch {b.BatchId}", h);
    }

    /// <param name="playFrom">The second the input player starts at (and plays from): the segment link that was clicked.</param>
    public static string Job(JobDetail j, double? playFrom = null)
    {
        var h = new Html();
        h.Add($"""
            <p><a href="{BatchUrl(j.BatchId)}">← Batch {j.BatchId}</a></p>
            <h1 class="key">{j.InputKey}</h1>
            <dl id="job-summary">
            <dt>Job</dt><dd class="key">{j.JobId} (#{j.Seq})</dd>
            <dt>Input</dt><dd class="key">s3://{j.InputBucket}/{j.InputKey}{(j.InputSize is { } size ? $" ({size} bytes)" : "")}</dd>
            <dt>Task</dt><dd>{j.Task} → {j.OutputType}</dd>
            <dt>State</dt><dd id="job-state">{new RawHtml(StateChip(j.State))} after {j.Attempts} attempt(s)</dd>
            <dt>Audio length</dt><dd>{Seconds(j.AudioSeconds)}</dd>
            <dt>Created</dt><dd>{When(j.CreatedAt)}</dd><dt>Started</dt><dd>{When(j.StartedAt)}</dd><dt>Finished</dt><dd>{When(j.FinishedAt)}</dd>
            """);
        if (j.Prompt is not null) h.Add($"<dt>Prompt</dt><dd>{j.Prompt}</dd>");
        if (j.ReusedJobId is { } reused) h.Add($"""<dt>Result reused from</dt><dd><a class="key" href="{JobUrl(reused)}">{reused}</a></dd>""");
        if (j.ModelId is not null) h.Add($"<dt>Model</dt><dd>{j.ModelId}</dd>");
        h.Add($"</dl>");
        if (j.Error is not null) h.Add($"""<h2>Error</h2><pre class="error" id="job-error">{j.Error}</pre>""");
        if (j.Text is not null) h.Add($"""<h2>Result text</h2><pre id="result-text">{j.Text}</pre>""");
        if (j.ReferenceText is not null)
            h.Add($"""<h2>Reference</h2><pre id="reference-text">{j.ReferenceText}</pre><p id="result-quality">{(j.Wer is { } wer ? $"WER {Percent(wer)}, CER {Percent(j.Cer ?? 0)}" : "not scored yet")}</p>""");
        if (j.MetadataJson is not null) h.Add($"""<h2>Manifest metadata</h2><pre id="metadata">{j.MetadataJson}</pre>""");
        AudioSection(h, j, BrowserEndpoints.InputAudio, "Input audio", playFrom);
        SegmentsSection(h, j, playFrom);
        if (j.ArtifactKey is not null) AudioSection(h, j, BrowserEndpoints.SpeechAudio, "Generated speech (24 kHz)");
        else if (j.OutputType != "text") h.Add($"""<p class="muted">No generated speech{(j.Text is null ? " yet" : "")}.</p>""");
        return Layout(j.InputKey, h);
    }

    /// <summary>
    /// The segments with their times; each start is a link that reloads the page with the input player starting there
    /// (a media fragment #t= on its source, autoplay): the pages run no script, so the seek is the player's own.
    /// </summary>
    private static void SegmentsSection(Html h, JobDetail j, double? playFrom)
    {
        var segments = j.Segments;
        if (segments.Count == 0) return;
        h.Add($"""
            <h2>Segments</h2>
            <p class="muted">Click a start time to play the input from there. Subtitles:
            <a id="subtitles-srt" href="{JobUrl(j.JobId)}/subtitles?format=srt">SRT</a> ·
            <a id="subtitles-vtt" href="{JobUrl(j.JobId)}/subtitles?format=vtt">WebVTT</a></p>
            <table id="segments"><thead><tr><th>#</th><th>Start</th><th>End</th><th>Text</th></tr></thead><tbody>
            """);
        foreach (var s in segments)
        {
            var current = playFrom is { } t && Math.Abs(t - s.Start) < 0.0005;
            h.Add($"""
                <tr class="segment" data-start="{s.Start:0.###}" data-end="{s.End:0.###}"{new RawHtml(current ? " aria-current=\"true\"" : "")}>
                <td class="num">{s.Index + 1}</td>
                <td><a class="seek" href="{JobUrl(j.JobId)}?t={s.Start:0.###}#audio-input">{Clock(s.Start)}</a></td><td>{Clock(s.End)}</td>
                <td class="text">{s.Text}</td></tr>
                """);
        }
        h.Add($"</tbody></table>");
    }

    private static string Clock(double seconds) => string.Create(CultureInfo.InvariantCulture, $"{(int)(seconds / 60)}:{seconds % 60:00.00}");

    private static void AudioSection(Html h, JobDetail j, string kind, string heading, double? playFrom = null)
    {
        var (bucket, key) = j.Audio(kind)!.Value;
        var start = playFrom is { } t ? new RawHtml(string.Create(CultureInfo.InvariantCulture, $"#t={t:0.###}")) : new RawHtml("");
        h.Add($"""
            <h2>{heading}</h2>
            <audio id="audio-{kind}" controls preload="metadata"{new RawHtml(playFrom is null ? "" : " autoplay")} src="{AudioUrl(j.JobId, kind)}{start}"></audio>
            <img class="waveform" id="waveform-{kind}" src="{WaveformUrl(j.JobId, kind)}" alt="waveform of s3://{bucket}/{key}" width="{Waveform.Width}" height="{Waveform.Height}">
            """);
    }

    public static string BatchUrl(Guid batchId) => $"{BrowserSession.PathPrefix}/batches/{batchId}";

    public static string JobUrl(Guid jobId) => $"{BrowserSession.PathPrefix}/jobs/{jobId}";

    public static string AudioUrl(Guid jobId, string kind) => $"{JobUrl(jobId)}/audio/{kind}";

    public static string WaveformUrl(Guid jobId, string kind) => $"{JobUrl(jobId)}/waveform/{kind}";

    /// <summary>A bar of the batch's jobs, one coloured part per state, widths in proportion.</summary>
    private static string ProgressBar(BatchProgress b)
    {
        var total = Math.Max(b.Counts.Values.Sum(), 1);
        var h = new Html();
        h.Add($"""<div class="bar" title="{CountsText(b)}">""");
        foreach (var s in new[] { PipelineState.Job.Succeeded, PipelineState.Job.Skipped, PipelineState.Job.Failed, PipelineState.Job.Cancelled, PipelineState.Job.Running, PipelineState.Job.Queued })
        {
            if (b.Counts.GetValueOrDefault(s) is var n and > 0)
                h.Add($"""<span class="s-{s}" style="width:{100.0 * n / total:0.##}%"></span>""");
        }
        h.Add($"</div>");
        return h.ToString();
    }

    private static string StateChip(string state)
    {
        var h = new Html();
        h.Add($"""<span class="state s-{state}">{state}</span>""");
        return h.ToString();
    }

    private static string CountsText(BatchProgress b)
        => string.Join(" · ", PipelineState.Job.All.Where(s => b.Counts.GetValueOrDefault(s) > 0).Select(s => $"{b.Counts[s]} {s}"));

    private static string When(DateTime? t) => t is { } v ? v.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture) : "–";

    private static string Percent(double rate) => rate.ToString("0.0 %", CultureInfo.InvariantCulture);

    private static string Seconds(double? s) => s is { } v ? v.ToString("0.0", CultureInfo.InvariantCulture) + " s" : "–";

    private static string Eta(BatchProgress b) => b.CompletedAt is not null ? "done"
        : b.EtaSeconds is not { } eta ? "–"
        : eta < 90 ? string.Create(CultureInfo.InvariantCulture, $"{eta:0} s")
        : eta < 5400 ? string.Create(CultureInfo.InvariantCulture, $"{eta / 60:0} min")
        : string.Create(CultureInfo.InvariantCulture, $"{eta / 3600:0.#} h");
}
