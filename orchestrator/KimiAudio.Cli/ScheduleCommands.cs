using System.CommandLine;
using System.Text.Json;

namespace KimiAudio.Cli;

/// <summary>`kimia schedules add|list|show|remove|pause|resume`, through the orchestrator's /schedules API.</summary>
public static class ScheduleCommands
{
    public static Command Create(Option<string> api, Option<string?> apiKey)
    {
        var schedules = new Command("schedules", "Cron schedules that submit a batch of a source at each fire time (only new or changed files are processed)");
        ApiClient Client(ParseResult parse) => new(new Uri(parse.GetValue(api)!), parse.GetValue(apiKey));

        var name = new Argument<string>("name") { Description = "unique name of the schedule" };
        var cron = new Option<string>("--cron") { Description = "5 fields (minute hour day month weekday) or 6 with seconds first, e.g. \"0 3 * * *\"", Required = true };
        var timeZone = new Option<string>("--time-zone") { Description = "IANA time zone the cron is read in", DefaultValueFactory = _ => "UTC" };
        var missed = new Option<string>("--missed") { Description = "after downtime: skip (jump to the next time) | run_once (fire once, then go on)", DefaultValueFactory = _ => "skip" };
        missed.AcceptOnlyFromAmong("skip", "run_once");
        var source = new Option<string?>("--source") { Description = "s3://bucket/prefix: every object under it is one job" };
        var manifest = new Option<string?>("--manifest") { Description = "s3://bucket/list.jsonl|csv" };
        var task = new Option<string>("--task") { Description = "asr | caption | qa | emotion | chat | ...", DefaultValueFactory = _ => "asr" };
        var question = new Option<string?>("--question") { Description = "the question of a qa task" };
        var output = new Option<string>("--output") { Description = "text | audio | both", DefaultValueFactory = _ => "text" };
        var priority = new Option<int>("--priority") { Description = "0 (lowest) … 9", DefaultValueFactory = _ => 0 };
        var add = new Command("add", "Add a schedule; prints its id") { name, cron, timeZone, missed, source, manifest, task, question, output, priority };
        add.SetAction((parse, ct) => CliAction.RunAsync(async () =>
        {
            using var client = Client(parse);
            var created = await client.SendAsync(HttpMethod.Post, "/schedules", new
            {
                name = parse.GetValue(name), cron = parse.GetValue(cron), timeZone = parse.GetValue(timeZone), missedRunPolicy = parse.GetValue(missed),
                source = parse.GetValue(source), manifest = parse.GetValue(manifest), task = parse.GetValue(task), question = parse.GetValue(question),
                outputType = parse.GetValue(output), priority = parse.GetValue(priority),
            }, ct);
            Console.WriteLine(created!.Value.GetProperty("scheduleId").GetGuid());
            Console.Error.WriteLine($"next fire time {created.Value.GetProperty("nextFireAt").GetDateTime():u}");
        }));
        schedules.Subcommands.Add(add);

        var list = new Command("list", "List the schedules");
        list.SetAction((parse, ct) => CliAction.RunAsync(async () =>
        {
            using var client = Client(parse);
            var items = (await client.SendAsync(HttpMethod.Get, "/schedules", null, ct))!.Value.GetProperty("items");
            Views.WriteTable(Console.Out, ["name", "cron", "time zone", "source", "task", "missed", "state", "next fire", "last fired"],
                items.EnumerateArray().Select(s => new[]
                {
                    s.GetProperty("name").GetString()!, s.GetProperty("cron").GetString()!, s.GetProperty("timeZone").GetString()!,
                    s.GetProperty("source").GetString()!, s.GetProperty("task").GetString()!, s.GetProperty("missedRunPolicy").GetString()!,
                    s.GetProperty("paused").GetBoolean() ? "paused" : "active", Time(s.GetProperty("nextFireAt")), Time(s.GetProperty("lastFiredAt")),
                }).ToList());
        }));
        schedules.Subcommands.Add(list);

        schedules.Subcommands.Add(OnOne("remove", "Remove a schedule (its batches stay)", HttpMethod.Delete, "", "removed"));
        schedules.Subcommands.Add(OnOne("pause", "Pause a schedule: it does not fire until resumed", HttpMethod.Post, "/pause", "paused"));
        schedules.Subcommands.Add(OnOne("resume", "Resume a schedule from its next fire time (the paused ones are not caught up)", HttpMethod.Post, "/resume", "resumed"));
        return schedules;

        Command OnOne(string verb, string description, HttpMethod method, string suffix, string done)
        {
            var target = new Argument<string>("id-or-name") { Description = "the schedule's id or name" };
            var command = new Command(verb, description) { target };
            command.SetAction((parse, ct) => CliAction.RunAsync(async () =>
            {
                using var client = Client(parse);
                var which = parse.GetValue(target)!;
                await client.SendAsync(method, $"/schedules/{Uri.EscapeDataString(which)}{suffix}", null, ct);
                Console.Error.WriteLine($"{done} schedule '{which}'");
            }));
            return command;
        }
    }

    private static string Time(JsonElement value) => value.ValueKind == JsonValueKind.Null ? "-" : value.GetDateTime().ToUniversalTime().ToString("u", System.Globalization.CultureInfo.InvariantCulture);
}
